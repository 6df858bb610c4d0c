import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../cluster/paths.ts';

const ns = `crd-${randomUUID().slice(0, 8)}`;
// A discovery cache of its own: one left by an earlier cluster on the same address (without these
// CRDs or their category) would make kubectl miss them.
const cacheDir = mkdtempSync(join(tmpdir(), 'crd-kubectl-cache-'));
const kubectl = (args: string[], input?: string) =>
  spawnSync('kubectl', ['--cache-dir', cacheDir, ...args], {
    encoding: 'utf8',
    env: process.env,
    input,
    timeout: 60_000,
  });
const example = parse(readFileSync(join(repoRoot, 'crds/examples/clicks.yaml'), 'utf8')) as {
  metadata: Record<string, unknown>;
  spec: Record<string, unknown> & { graph: { sources: Record<string, unknown>[] } };
};
/** The example with `edit` applied, as a manifest for `kubectl apply -f -`. */
const manifest = (name: string, edit: (spec: typeof example.spec) => void = () => {}): string => {
  const obj = structuredClone(example);
  obj.metadata = { name, namespace: ns };
  edit(obj.spec);
  return stringify(obj);
};
const apply = (yaml: string) => kubectl(['apply', '-f', '-'], yaml);

describe('the StreamJob CRD', () => {
  beforeAll(() => {
    const crd = kubectl(['apply', '-f', join(repoRoot, 'crds/streamjobs.tributary.dev.yaml')]);
    expect(crd.status, crd.stderr).toBe(0);
    expect(
      kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/streamjobs.tributary.dev']).status,
    ).toBe(0);
    expect(kubectl(['create', 'namespace', ns]).status).toBe(0);
  });
  afterAll(() => {
    kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it('accepts the example and fills in the defaults', () => {
    const res = apply(
      manifest('ok', (s) => {
        delete s.checkpointing;
        delete s.maxParallelism;
      }),
    );
    expect(res.status, res.stderr).toBe(0);
    const got = JSON.parse(kubectl(['get', '-n', ns, 'sj', 'ok', '-o', 'json']).stdout) as {
      spec: Record<string, unknown>;
    };
    expect(got.spec).toMatchObject({
      maxParallelism: 128,
      state: 'running',
      upgradeMode: 'savepoint',
      checkpointing: { interval: '10s', timeout: '2m', retained: 3 },
      savepoints: { historyLimit: 10, onDelete: true, onFailure: 'block', maxCheckpointAge: '10m', timeout: '5m' },
      restartPolicy: { maxRestarts: 10, backoff: { initial: '5s', max: '5m' } },
    });
  });

  it.each([
    [
      'replicas above maxParallelism',
      (s: typeof example.spec) => {
        s.replicas = 8;
        s.maxParallelism = 4;
      },
      'spec.replicas must not exceed spec.maxParallelism',
    ],
    [
      'a malformed duration',
      (s: typeof example.spec) => {
        s.checkpointing = { interval: 'often' };
      },
      'spec.checkpointing.interval: Invalid value: "often": must be a duration like "10s"',
    ],
    [
      'a source with two connectors',
      (s: typeof example.spec) => {
        s.graph.sources[0] = { ...s.graph.sources[0], datagen: { generator: 'nexmark' } };
      },
      'a source takes exactly one connector',
    ],
    [
      'a malformed restart window',
      (s: typeof example.spec) => {
        s.restartPolicy = { window: 'an hour' };
      },
      'spec.restartPolicy.window: Invalid value: "an hour": must be a duration like "10s"',
    ],
    [
      'more than 100 restarts counted in a window',
      (s: typeof example.spec) => {
        s.restartPolicy = { window: '1h', maxRestarts: 101 };
      },
      'spec.restartPolicy.maxRestarts: Invalid value: maxRestarts must be at most 100 with a window',
    ],
    [
      'an unknown upgrade mode',
      (s: typeof example.spec) => {
        s.upgradeMode = 'yolo';
      },
      'spec.upgradeMode: Unsupported value: "yolo"',
    ],
    [
      'zero replicas',
      (s: typeof example.spec) => {
        s.replicas = 0;
      },
      'spec.replicas: Invalid value: 0',
    ],
  ])('rejects %s at admission with a message naming the field', (_what, edit, message) => {
    const res = apply(manifest(`bad-${randomUUID().slice(0, 6)}`, edit));
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain(message);
  });

  // A mistyped key inside a node must reach the runtime's validator, which names it: pruned by
  // the apiserver it would vanish for every client that does not ask for strict field validation.
  it('keeps unknown keys inside graph nodes, whatever field validation the client asks for', () => {
    const typo = manifest('typo', (s) => {
      const graph = s.graph as unknown as {
        sources: Record<string, Record<string, unknown>>[];
        steps: Record<string, unknown>[];
      };
      graph.sources[0]!['kafka']!['groupID'] = 'mistyped';
      graph.steps[2]!['window'] = { ...(graph.steps[2]!['window'] as object), allowedLatness: '1m' };
    });
    for (const validate of ['--validate=false', '--validate=strict']) {
      const res = kubectl(['create', '--dry-run=server', validate, '-o', 'json', '-f', '-'], typo);
      expect(res.status, res.stderr).toBe(0);
      const got = JSON.parse(res.stdout) as {
        spec: { graph: { sources: { kafka: Record<string, unknown> }[]; steps: Record<string, unknown>[] } };
      };
      expect(got.spec.graph.sources[0]!.kafka['groupID']).toBe('mistyped');
      expect(got.spec.graph.steps[2]!['window']).toMatchObject({ allowedLatness: '1m' });
    }
  });

  it('refuses to change maxParallelism once deployed', () => {
    expect(apply(manifest('fixed')).status).toBe(0);
    const res = apply(
      manifest('fixed', (s) => {
        s.maxParallelism = 256;
      }),
    );
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain('spec.maxParallelism is immutable once deployed');
  });

  it('scales through the scale subresource, as `kubectl scale` and an HPA do', () => {
    expect(apply(manifest('scaled')).status).toBe(0);
    const res = kubectl(['scale', '-n', ns, 'streamjob/scaled', '--replicas=3']);
    expect(res.status, res.stderr).toBe(0);
    expect(kubectl(['get', '-n', ns, 'sj', 'scaled', '-o', 'jsonpath={.spec.replicas}']).stdout).toBe('3');
    const tooMany = kubectl(['scale', '-n', ns, 'streamjob/scaled', '--replicas=500']);
    expect(tooMany.status).not.toBe(0);
    expect(tooMany.stderr).toContain('spec.replicas must not exceed spec.maxParallelism');
  });

  it('prints phase, replicas, readiness and the last savepoint in `kubectl get`', () => {
    expect(apply(manifest('listed')).status).toBe(0);
    const header = kubectl(['get', '-n', ns, 'sj', 'listed']).stdout.split('\n')[0] ?? '';
    expect(header.split(/\s{2,}/)).toEqual([
      'NAME',
      'PHASE',
      'STATUS',
      'REPLICAS',
      'READY',
      'INPUT',
      'LAST SAVEPOINT',
      'AGE',
    ]);
    expect(kubectl(['get', 'tributary', '-n', ns, '-o', 'name']).stdout).toContain('streamjob.tributary.dev/listed');
  });
});
