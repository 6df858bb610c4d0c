import { describe, expect, it } from 'vitest';
import type { StreamJobSpec } from '../../api/v1alpha1/streamjob.ts';
import { sampleSpec as spec } from './testing/sample-job.ts';
import { validateSpec } from './validation.ts';

const graph = spec.graph as NonNullable<StreamJobSpec['graph']>;

describe('spec validation', () => {
  it('reports graph errors with their path', () => {
    expect(validateSpec(spec)).toEqual([]);
    const bad = validateSpec({
      ...spec,
      graph: {
        ...spec.graph,
        sinks: [{ name: 'out', from: 'nope', console: {} }],
      } as unknown as StreamJobSpec['graph'],
    });
    // The exact field and the reason, not any graph error.
    expect(bad).toEqual([{ path: 'spec.graph.sinks[0].from', message: 'unknown input "nope"; expected one of gen' }]);
  });

  it('refuses function steps: a StreamJob has no job code to define them', () => {
    const g = spec.graph as unknown as { sources: { name: string }[]; sinks: { from: string }[] };
    const withFn = {
      ...spec.graph,
      steps: [...(graph.steps ?? []), { name: 'f', from: g.sinks[0]?.from, function: { kind: 'map', ref: 'f' } }],
      sinks: [{ name: 'out', from: 'f', console: {} }],
    } as unknown as StreamJobSpec['graph'];
    const issues = validateSpec({ ...spec, graph: withFn });
    expect(issues.map((i) => i.path)).toEqual([`spec.graph.steps[${graph.steps?.length ?? 0}].function`]);
    expect(issues[0]?.message).toContain("names a function of the job's code");
  });

  it('never lets a StreamJob turn checkpointing off, so an exactly-once sink always has its checkpoints', () => {
    const eos = {
      ...spec.graph,
      sinks: [
        {
          name: 'out',
          from: (graph.sinks[0] as { from: string }).from,
          kafka: { brokers: 'k:9092', topic: 't', delivery: 'exactly-once' },
        },
      ],
    } as unknown as StreamJobSpec['graph'];
    expect(validateSpec({ ...spec, graph: eos })).toEqual([]);
    for (const interval of ['0s', '0ms']) {
      expect(validateSpec({ ...spec, graph: eos, checkpointing: { ...spec.checkpointing, interval } })).toEqual([
        { path: 'spec.checkpointing.interval', message: `expected a positive duration, got "${interval}"` },
      ]);
    }
  });

  it('takes a restartPolicy.window that is a positive duration, with at most 100 maxRestarts', () => {
    const rp = (window: string, maxRestarts = 3) =>
      validateSpec({ ...spec, restartPolicy: { ...spec.restartPolicy, maxRestarts, window } });
    expect(rp('10m')).toEqual([]);
    expect(rp('1h30m', 100)).toEqual([]);
    for (const window of ['0s', 'soon', '-5m'])
      expect(rp(window)).toEqual([
        { path: 'spec.restartPolicy.window', message: `expected a positive duration, got "${window}"` },
      ]);
    expect(rp('10m', 101)).toEqual([
      {
        path: 'spec.restartPolicy.maxRestarts',
        message: 'at most 100 with restartPolicy.window (status keeps one time per counted restart), got 101',
      },
    ]);
    // Without a window maxRestarts is not capped (the count needs no times).
    expect(validateSpec({ ...spec, restartPolicy: { ...spec.restartPolicy, maxRestarts: 1000 } })).toEqual([]);
  });

  it('takes a spec.health.checkpointTimeout that is a positive duration; restartOnUnhealthy needs one', () => {
    expect(validateSpec({ ...spec, health: { checkpointTimeout: '5m', restartOnUnhealthy: true } })).toEqual([]);
    expect(validateSpec({ ...spec, health: { checkpointTimeout: '0s' } })).toEqual([
      { path: 'spec.health.checkpointTimeout', message: 'expected a positive duration, got "0s"' },
    ]);
    expect(validateSpec({ ...spec, health: { restartOnUnhealthy: true } })).toEqual([
      {
        path: 'spec.health.restartOnUnhealthy',
        message: 'needs spec.health.checkpointTimeout (the bound past which a job is unhealthy)',
      },
    ]);
  });

  it('takes a job module instead of a graph (application mode): exactly one, an absolute module path', () => {
    const { graph: _g, ...noGraph } = spec;
    void _g;
    const app = (module: unknown) => validateSpec({ ...noGraph, job: { module } } as unknown as StreamJobSpec);
    expect(app('/app/jobs/clicks/job.ts')).toEqual([]);
    expect(app('/app/jobs/clicks/job.mjs')).toEqual([]);
    expect(app('jobs/job.ts')).toEqual([
      {
        path: 'spec.job.module',
        message: 'must be an absolute path in the image (e.g. /app/jobs/clicks/job.ts), got "jobs/job.ts"',
      },
    ]);
    expect(app('/app/jobs/README.md')[0]?.message).toContain('expected a .js, .mjs, .ts or .mts module');
    expect(app('')[0]?.path).toBe('spec.job.module');
    expect(validateSpec({ ...spec, job: { module: '/app/job.ts' } })).toEqual([
      { path: 'spec.job', message: 'spec.graph and spec.job both say what the slots run; keep one' },
    ]);
    expect(validateSpec(noGraph as StreamJobSpec)).toEqual([
      { path: 'spec.graph', message: 'required: a job graph, or spec.job.module (a job module in the image)' },
    ]);
  });

  it('checks spec.autoscaler against maxParallelism, each issue naming its field', () => {
    const as = (autoscaler: StreamJobSpec['autoscaler'], maxParallelism = 8) =>
      validateSpec({ ...spec, maxParallelism, autoscaler });
    expect(as({ enabled: true, mode: 'Scale', minReplicas: 2, maxReplicas: 8, metricsWindow: '30s' })).toEqual([]);
    expect(as(undefined)).toEqual([]);
    const paths = (issues: { path: string }[]) => issues.map((i) => i.path);
    expect(paths(as({ enabled: true, maxReplicas: 9 }))).toEqual(['spec.autoscaler.maxReplicas']);
    expect(paths(as({ enabled: true, minReplicas: 4, maxReplicas: 2 }))).toEqual(['spec.autoscaler.minReplicas']);
    expect(paths(as({ enabled: true, metricsWindow: 'soon' }))).toEqual(['spec.autoscaler.metricsWindow']);
    expect(as({ enabled: true, maxReplicas: 9 })[0]?.message).toContain('maxParallelism (8)');
  });

  it('checks spec.stateBackend: type heap or disk, a quantity, cacheEntries ≥ 1000, disk-only fields, no nested mounts', () => {
    const sb = (stateBackend: unknown, more: Partial<StreamJobSpec> = {}) =>
      validateSpec({ ...spec, ...more, stateBackend } as unknown as StreamJobSpec);
    expect(sb(undefined)).toEqual([]);
    expect(sb({ type: 'heap' })).toEqual([]);
    expect(sb({})).toEqual([]);
    expect(sb({ type: 'disk' })).toEqual([]);
    expect(sb({ type: 'disk', localVolumeSize: '500Mi', cacheEntries: 1000 })).toEqual([]);
    for (const size of ['1.5Gi', '.5Ti', '1e9', '2000M'])
      expect(sb({ type: 'disk', localVolumeSize: size })).toEqual([]);
    expect(sb({ type: 'rocksdb' })).toEqual([
      { path: 'spec.stateBackend.type', message: 'must be heap or disk, got "rocksdb"' },
    ]);
    for (const size of ['10GB', '-1Gi', '0', '0.0Gi', '0e3', 'lots', 10])
      expect(sb({ type: 'disk', localVolumeSize: size })).toEqual([
        {
          path: 'spec.stateBackend.localVolumeSize',
          message: `must be a Kubernetes quantity above zero, e.g. 10Gi or 500Mi, got ${JSON.stringify(size)}`,
        },
      ]);
    for (const n of [999, 1500.5, '5000'])
      expect(sb({ type: 'disk', cacheEntries: n })).toEqual([
        {
          path: 'spec.stateBackend.cacheEntries',
          message: `must be an integer of at least 1000, got ${JSON.stringify(n)}`,
        },
      ]);
    // The heap has no local volume and no cache: the disk fields are refused, not ignored (absent type is heap).
    expect(sb({ type: 'heap', localVolumeSize: '1Gi', cacheEntries: 5000 }).map((i) => i.path)).toEqual([
      'spec.stateBackend.localVolumeSize',
      'spec.stateBackend.cacheEntries',
    ]);
    expect(sb({ cacheEntries: 5000 })[0]?.message).toContain('applies to type disk only');
    // A pvc mounted where the local volume goes, above or below it, would hide one's files.
    for (const path of ['/var/lib/tributary/state', '/var/lib/tributary', '/var/lib/tributary/state/ckpt/'])
      expect(sb({ type: 'disk' }, { stateStorage: { pvc: { claimName: 'state' }, path } })).toEqual([
        {
          path: 'spec.stateStorage.path',
          message: `${JSON.stringify(path)} and the disk state backend's local volume (/var/lib/tributary/state) would be mounted one inside the other; choose another path`,
        },
      ]);
    expect(
      sb({ type: 'disk' }, { stateStorage: { pvc: { claimName: 'state' }, path: '/var/lib/tributary-x' } }),
    ).toEqual([]);
    expect(sb({ type: 'heap' }, { stateStorage: { pvc: { claimName: 'state' }, path: '/var/lib/tributary' } })).toEqual(
      [],
    );
  });
});
