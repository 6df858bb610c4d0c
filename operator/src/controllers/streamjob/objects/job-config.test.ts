import { describe, expect, it } from 'vitest';
import type { StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import { effectiveStateStorage } from '../state-storage.ts';
import { jobConfig } from './job-config.ts';

const job = (stateStorage: Record<string, unknown>): StreamJob =>
  ({
    apiVersion: 'tributary.dev/v1alpha1',
    kind: 'StreamJob',
    metadata: { name: 'j', namespace: 'ns' },
    spec: { replicas: 2, maxParallelism: 128, graph: {}, stateStorage },
  }) as unknown as StreamJob;

describe('jobConfig retention', () => {
  const s3 = { s3: { bucket: 'bkt', prefix: 'p' } };
  it('tells the runtime Retain only when the effective storage retains; Delete is the absent default', () => {
    const retain = job({ ...s3, retention: 'Retain' });
    const cfg = jobConfig(retain, retain.spec, effectiveStateStorage(retain.spec, {}), 2, undefined);
    expect(cfg.retention).toBe('Retain');
    expect(cfg.stateDir).toBe('s3://bkt/p/ns/j');
    const del = job(s3);
    expect(jobConfig(del, del.spec, effectiveStateStorage(del.spec, {}), 2, undefined).retention).toBeUndefined();
    // The operator default's retention applies to a job that names none.
    const byDefault = job({});
    const storage = effectiveStateStorage(byDefault.spec, {
      stateStorage: { ...s3, path: '/state', retention: 'Retain' },
    });
    expect(jobConfig(byDefault, byDefault.spec, storage, 2, undefined).retention).toBe('Retain');
  });
});

describe('jobConfig in application mode', () => {
  it('names the module and carries no graph; a graph job carries its graph and no module', () => {
    const app = job({});
    const spec = { ...app.spec, graph: undefined, job: { module: '/app/jobs/clicks/job.ts' } };
    const cfg = jobConfig(app, spec, effectiveStateStorage(spec, {}), 2, undefined);
    expect(cfg.module).toBe('/app/jobs/clicks/job.ts');
    expect('graph' in cfg).toBe(false);
    const plain = jobConfig(app, app.spec, effectiveStateStorage(app.spec, {}), 2, undefined);
    expect(plain.graph).toEqual({});
    expect('module' in plain).toBe(false);
  });
});

describe('jobConfig checkpointing', () => {
  it('passes tolerableFailedCheckpoints on when the spec sets it (0 too); absent, the runtime default applies', () => {
    const j = job({});
    const none = jobConfig(j, j.spec, effectiveStateStorage(j.spec, {}), 2, undefined);
    expect(none.checkpointing && 'tolerableFailedCheckpoints' in none.checkpointing).toBe(false);
    for (const n of [0, 25]) {
      const spec = {
        ...j.spec,
        checkpointing: { interval: '1s', timeout: '1m', retained: 3, tolerableFailedCheckpoints: n },
      };
      expect(jobConfig(j, spec, effectiveStateStorage(spec, {}), 2, undefined).checkpointing).toMatchObject({
        intervalMs: 1000,
        tolerableFailedCheckpoints: n,
      });
    }
  });
});

describe('jobConfig stateBackend', () => {
  const base = job({ s3: { bucket: 'bkt' } });
  const cfgOf = (stateBackend: unknown) => {
    const spec = { ...base.spec, stateBackend } as StreamJob['spec'];
    return jobConfig(base, spec, effectiveStateStorage(spec, {}), 2, undefined);
  };

  it('tells the runtime disk, in the local volume, with cacheEntries only when the spec sets it', () => {
    expect(cfgOf({ type: 'disk' }).stateBackend).toEqual({ kind: 'disk', dir: '/var/lib/tributary/state' });
    expect(cfgOf({ type: 'disk', localVolumeSize: '20Gi', cacheEntries: 5000 }).stateBackend).toEqual({
      kind: 'disk',
      dir: '/var/lib/tributary/state',
      cacheEntries: 5000,
    });
  });

  it('carries nothing for the heap, absent or spelled out: what a runtime without the field runs', () => {
    expect('stateBackend' in cfgOf(undefined)).toBe(false);
    expect('stateBackend' in cfgOf({ type: 'heap' })).toBe(false);
  });
});
