import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { StatusResponse } from '../../../../runtime/src/control/contract.ts';
import type { StreamJob, StreamJobSpec, StreamJobStatus } from '../../api/v1alpha1/streamjob.ts';
import type { JobCtx, ReconcilerInternals } from './job-context.ts';
import { deriveKstatus } from './kstatus.ts';
import type { Observation } from './observer.ts';
import { recordObservation, waitingCondition } from './record-observation.ts';
import { specHash } from './spec-hash.ts';
import { sampleJob, sampleSpec } from './testing/sample-job.ts';

/**
 * Only what recordObservation reaches: status writes applied in place with their kstatus view (as
 * reconcile.ts does), the default image.
 */
function internals(): ReconcilerInternals {
  return {
    deps: { defaults: { image: 'img' }, events: { warning: () => Promise.resolve(), normal: () => Promise.resolve() } },
    record: (c: JobCtx, _step: string, mutate: (st: StreamJobStatus) => StreamJobStatus) => {
      const input = { job: c.job, rejected: c.rejected, defaults: { image: 'img' }, now: c.now };
      c.job = { ...c.job, status: deriveKstatus(mutate(structuredClone(c.job.status ?? {})), input) };
      return Promise.resolve(c.job);
    },
  } as unknown as ReconcilerInternals;
}

/** A job at `generation` whose deployment of `sampleSpec` (2 slots) runs, every slot ready. */
function running(spec: StreamJobSpec, generation: number): JobCtx {
  const deployed = {
    id: 'd-1',
    specHash: specHash(sampleSpec, { image: 'img' }),
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
    expect(c.job.status?.observedGeneration).toBe(1); // the rescale's work is still to do
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

const deployment = { id: 'x-1', specHash: 'h', parallelism: 2, startedAt: '' };
const rt = (o: Partial<StatusResponse>): StatusResponse => ({
  contractVersion: 1,
  jobName: 'j',
  deploymentId: 'x-1',
  slot: 0,
  parallelism: 2,
  state: 'RUNNING',
  ...o,
});

describe('waitingCondition', () => {
  it('names every waiting source and its topic; says every source reads once none waits', () => {
    const job = sampleJob(sampleSpec, { deployed: deployment });
    const w = waitingCondition(job, {
      runtime: rt({
        waitingForInput: [
          { source: 'clicks', topic: 'clicks-in', since: '2026-01-01T00:00:00Z' },
          { source: 'views', topic: 'views-in', since: '2026-01-01T00:00:01Z' },
        ],
      }),
    });
    expect(w).toEqual({
      waiting: true,
      message:
        'waiting for topic clicks-in (source clicks, since 2026-01-01T00:00:00Z); topic views-in (source views, since 2026-01-01T00:00:01Z): the job runs and reads once it exists',
    });
    expect(waitingCondition(job, { runtime: rt({}) })).toEqual({
      waiting: false,
      message: 'every source reads its input',
    });
  });

  it('says nothing without a RUNNING answer from slot 0 or without a deployment (the condition keeps its last value)', () => {
    expect(waitingCondition(sampleJob(sampleSpec, { deployed: deployment }), { runtime: undefined })).toBeUndefined();
    expect(
      waitingCondition(sampleJob(sampleSpec, { deployed: deployment }), { runtime: rt({ state: 'RESTORING' }) }),
    ).toBeUndefined();
    expect(waitingCondition(sampleJob(sampleSpec, {}), { runtime: rt({}) })).toBeUndefined();
  });
});
