import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { StreamJob, StreamJobSpec, StreamJobStatus } from '../../api/v1alpha1/streamjob.ts';
import type { JobCtx, ReconcilerInternals } from './job-context.ts';
import type { Observation } from './observer.ts';
import { recordObservation } from './record-observation.ts';
import { specHash } from './spec-hash.ts';
import { sampleJob, sampleSpec } from './testing/sample-job.ts';

/** Only what recordObservation reaches: status writes applied in place, the default image. */
function internals(): ReconcilerInternals {
  return {
    deps: { defaultImage: 'img', events: { warning: () => Promise.resolve() } },
    record: (c: JobCtx, _step: string, mutate: (st: StreamJobStatus) => StreamJobStatus) => {
      c.job = { ...c.job, status: mutate(structuredClone(c.job.status ?? {})) };
      return Promise.resolve(c.job);
    },
  } as unknown as ReconcilerInternals;
}

/** A job at `generation` whose deployment of `sampleSpec` (2 slots) runs, every slot ready. */
function running(spec: StreamJobSpec, generation: number): JobCtx {
  const deployed = {
    id: 'd-1',
    specHash: specHash(sampleSpec, 'img'),
    parallelism: 2,
    startedAt: '',
    spec: JSON.stringify(sampleSpec),
  };
  const status: StreamJobStatus = {
    phase: 'Running',
    observedGeneration: 1,
    deployed,
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        observedGeneration: 1,
        lastTransitionTime: '2026-01-01T00:00:00Z',
        reason: 'Running',
        message: '',
      },
    ],
  };
  const job: StreamJob = { ...sampleJob(spec, status), metadata: { name: 'j', namespace: 'n', uid: 'u1', generation } };
  const obs = {
    pods: [],
    current: new Map(),
    others: [],
    failedSlots: [],
    readyCount: 2,
    deploymentId: 'd-1',
    runtime: { state: 'RUNNING' },
  } as unknown as Observation;
  return { job, log: pino({ level: 'silent' }), obs, now: new Date('2026-01-01T00:01:00Z') };
}

const ready = (c: JobCtx) => c.job.status?.conditions?.find((x) => x.type === 'Ready');

describe('recordObservation: the Ready condition', () => {
  it('is judged at the current generation when the spec asks for nothing new', async () => {
    const c = running(sampleSpec, 2); // e.g. a policy change: applies in place
    await recordObservation(internals(), c, []);
    expect(ready(c)).toMatchObject({ status: 'True', observedGeneration: 2 });
    expect(c.job.status?.observedGeneration).toBe(2);
  });

  it('keeps its old generation right after a rescale, so `kubectl wait --for=condition=Ready` waits for the new slots', async () => {
    const c = running({ ...sampleSpec, replicas: 3 }, 2);
    await recordObservation(internals(), c, []);
    expect(ready(c)).toMatchObject({ status: 'True', observedGeneration: 1 });
    expect(c.job.status?.observedGeneration).toBe(2);
  });

  it('keeps its old generation right after an upgrade or a savepoint request', async () => {
    for (const spec of [
      { ...sampleSpec, image: 'other' },
      { ...sampleSpec, savepointNonce: 1 },
    ]) {
      const c = running(spec, 2);
      await recordObservation(internals(), c, []);
      expect(ready(c)?.observedGeneration).toBe(1);
    }
  });
});
