// The periodic savepoint schedule is a function of spec and status only (an operator restarted
// anywhere computes the same due time), and the status a completed or failed one leaves.
import { describe, expect, it } from 'vitest';
import type { StreamJobSpec, StreamJobStatus } from '../../api/v1alpha1/streamjob.ts';
import { periodicCompleted, periodicFailed } from './operation/periodic-savepoint.ts';
import { nextPeriodicAt, periodicIntervalMs } from './periodic-schedule.ts';
import { validateSpec } from './validation.ts';

const spec = (interval?: string) =>
  ({
    replicas: 1,
    savepoints: { ...(interval === undefined ? {} : { interval }) },
    graph: { sources: [{ name: 'g', datagen: {} }], sinks: [{ name: 'o', from: 'g', console: {} }] },
  }) as unknown as StreamJobSpec;
const started = '2026-01-01T00:00:00.000Z';
const at = (iso: string) => new Date(iso);

describe('periodic savepoint schedule', () => {
  it('is off without an interval or below 1s', () => {
    expect(periodicIntervalMs(spec())).toBeUndefined();
    expect(periodicIntervalMs(spec('500ms'))).toBeUndefined();
    expect(
      nextPeriodicAt(spec(), { deployed: { id: 'a-1', specHash: 'a', parallelism: 1, startedAt: started } }),
    ).toBeUndefined();
    expect(validateSpec(spec('500ms')).map((i) => i.path)).toContain('spec.savepoints.interval');
    expect(validateSpec(spec('10m')).map((i) => i.path)).not.toContain('spec.savepoints.interval');
  });

  it('is due an interval after the deployment started, then after the last periodic one started', () => {
    const st: StreamJobStatus = { deployed: { id: 'a-1', specHash: 'a', parallelism: 1, startedAt: started } };
    expect(nextPeriodicAt(spec('10m'), st)?.toISOString()).toBe('2026-01-01T00:10:00.000Z');
    st.periodicSavepoints = { lastTriggeredAt: '2026-01-01T05:00:00.000Z' };
    expect(nextPeriodicAt(spec('10m'), st)?.toISOString()).toBe('2026-01-01T05:10:00.000Z');
    // an edited interval applies at once (nothing cached)
    expect(nextPeriodicAt(spec('1h'), st)?.toISOString()).toBe('2026-01-01T06:00:00.000Z');
    // nothing deployed: nothing to anchor on
    expect(nextPeriodicAt(spec('10m'), {})).toBeUndefined();
  });

  it('a failure is retried at retryAt up to 3 attempts, then waits for its turn; a success clears it', () => {
    const st: StreamJobStatus = {
      deployed: { id: 'a-1', specHash: 'a', parallelism: 1, startedAt: started },
      periodicSavepoints: { lastTriggeredAt: '2026-01-01T05:00:00.000Z' },
    };
    const now = at('2026-01-01T05:00:30.000Z');
    const fail = (attempt: number) =>
      periodicFailed(st, spec('10m'), now, { reason: 'SavepointFailed', message: 'disk', attempt, delay: 5_000 });
    expect(fail(2)).toBe(true);
    expect(st.periodicSavepoints).toMatchObject({
      failures: 1,
      lastError: 'SavepointFailed: disk',
      retryAt: '2026-01-01T05:00:35.000Z',
      retryAttempt: 2,
      nextAt: '2026-01-01T05:00:35.000Z',
    });
    expect(nextPeriodicAt(spec('10m'), st)?.toISOString()).toBe('2026-01-01T05:00:35.000Z');
    expect(fail(3)).toBe(true);
    expect(fail(4)).toBe(false); // the third attempt failed: no retry
    expect(st.periodicSavepoints?.failures).toBe(3);
    expect(st.periodicSavepoints?.retryAt).toBeUndefined();
    expect(nextPeriodicAt(spec('10m'), st)?.toISOString()).toBe('2026-01-01T05:10:00.000Z');
    periodicCompleted(st, spec('10m'), at('2026-01-01T05:10:02.000Z'));
    expect(st.periodicSavepoints).toEqual({
      lastTriggeredAt: '2026-01-01T05:00:00.000Z',
      lastCompletedAt: '2026-01-01T05:10:02.000Z',
      failures: 0,
      nextAt: '2026-01-01T05:10:00.000Z',
    });
  });
});
