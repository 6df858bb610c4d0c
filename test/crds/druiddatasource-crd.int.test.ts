import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../cluster/paths.ts';

const ns = `dds-${randomUUID().slice(0, 8)}`;
const kubectl = (args: string[], input?: string) =>
  spawnSync('kubectl', args, { encoding: 'utf8', env: process.env, input, timeout: 60_000 });
type Spec = Record<string, unknown> & { metrics: Record<string, unknown>[]; ingestion: Record<string, unknown> };
const example = parse(readFileSync(join(repoRoot, 'crds/examples/clicks-ds.yaml'), 'utf8')) as {
  metadata: Record<string, unknown>;
  spec: Spec;
};
const manifest = (name: string, edit: (spec: Spec) => void = () => {}): string => {
  const obj = structuredClone(example);
  obj.metadata = { name, namespace: ns };
  edit(obj.spec);
  return stringify(obj);
};
const apply = (yaml: string) => kubectl(['apply', '-f', '-'], yaml);

describe('the DruidDatasource CRD', () => {
  beforeAll(() => {
    const crd = kubectl(['apply', '-f', join(repoRoot, 'crds/druiddatasources.tributary.dev.yaml')]);
    expect(crd.status, crd.stderr).toBe(0);
    expect(
      kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/druiddatasources.tributary.dev']).status,
    ).toBe(0);
    expect(kubectl(['create', 'namespace', ns]).status).toBe(0);
  });
  afterAll(() => {
    kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it('accepts the example and fills in the defaults', () => {
    const res = apply(
      manifest('ok', (s) => {
        delete s.granularity;
        delete s.timestamp;
        delete s.deletionPolicy;
      }),
    );
    expect(res.status, res.stderr).toBe(0);
    const got = JSON.parse(kubectl(['get', '-n', ns, 'dds', 'ok', '-o', 'json']).stdout) as {
      spec: Record<string, unknown>;
    };
    expect(got.spec).toMatchObject({
      timestamp: { column: 'ts', format: 'auto' },
      granularity: { segment: 'HOUR', query: 'MINUTE', rollup: true },
      deletionPolicy: 'Terminate',
      suspend: false,
    });
  });

  it.each([
    [
      'an unknown metric type',
      (s: Spec) => {
        s.metrics = [{ type: 'median', name: 'm', fieldName: 'x' }];
      },
      'spec.metrics[0].type: Unsupported value: "median"',
    ],
    [
      'a metric without fieldName',
      (s: Spec) => {
        s.metrics = [{ type: 'longSum', name: 'm' }];
      },
      'fieldName is required for every metric type except count',
    ],
    [
      'a bad granularity',
      (s: Spec) => {
        s.granularity = { segment: 'FORTNIGHT' };
      },
      'spec.granularity.segment: Unsupported value: "FORTNIGHT"',
    ],
    [
      'a non-ISO task duration',
      (s: Spec) => {
        s.ingestion.taskDuration = '1h';
      },
      'spec.ingestion.taskDuration: Invalid value: "1h": must be an ISO-8601 duration like PT1H',
    ],
    [
      'a duplicate dimension',
      (s: Spec) => {
        s.dimensions = ['country', 'country'];
      },
      'spec.dimensions[1]: Duplicate value: "country"',
    ],
    [
      'a URL that is not http',
      (s: Spec) => {
        s.druid = { url: 'druid-router:8888' };
      },
      'spec.druid.url: Invalid value: "druid-router:8888": must be an http(s) URL',
    ],
  ])('rejects %s at admission, naming the field', (_what, edit, message) => {
    const res = apply(manifest(`bad-${randomUUID().slice(0, 6)}`, edit));
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain(message);
  });

  it('keeps dataSource immutable', () => {
    expect(apply(manifest('fixed')).status).toBe(0);
    const res = apply(
      manifest('fixed', (s) => {
        s.dataSource = 'other';
      }),
    );
    expect(res.stderr).toContain('spec.dataSource is immutable');
  });

  it('prints state, health and lag in `kubectl get`', () => {
    expect(apply(manifest('listed')).status).toBe(0);
    const header = kubectl(['get', '-n', ns, 'druiddatasources', 'listed']).stdout.split('\n')[0] ?? '';
    expect(header.split(/\s{2,}/)).toEqual(['NAME', 'STATE', 'HEALTHY', 'LAG', 'AGE']);
  });
});
