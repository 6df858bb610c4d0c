// The supervisor state gauge holds one series per datasource: the Druid alert
// (charts/tributary/rules) would fire forever on a state left behind at 1.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { druidMetrics } from './metrics.ts';

describe('Druid supervisor state metric', () => {
  it('a new state replaces the previous one; forget removes it', async () => {
    const r = new Registry();
    const m = druidMetrics(r);
    const states = async () =>
      (await m.supervisorState.get()).values.map((v) => `${v.labels.namespace}/${v.labels.name} ${v.labels.state}`);
    m.setSupervisorState('ns', 'ds', 'UNHEALTHY_SUPERVISOR');
    m.setSupervisorState('ns', 'other', 'RUNNING');
    m.setSupervisorState('ns', 'ds', 'RUNNING');
    expect((await states()).sort()).toEqual(['ns/ds RUNNING', 'ns/other RUNNING']);
    m.forget('ns', 'ds');
    expect(await states()).toEqual(['ns/other RUNNING']);
  });
});
