import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { StatusResponse } from '../../../../runtime/src/control/contract.ts';
import type { StreamJob, StreamJobSpec, StreamJobStatus } from '../../api/v1alpha1/streamjob.ts';
import type { JobCtx, ReconcilerInternals } from './job-context.ts';
import { deriveKstatus } from './kstatus.ts';
import type { Observation } from './observer.ts';
import type { Pod } from './objects/slot-pod.ts';
import { recordObservation, waitingCondition } from './record-observation.ts';
import { specHash } from './spec/hash.ts';
import { sampleJob, sampleSpec } from './testing/sample-job.ts';

/**
 * Only what recordObservation reaches: status writes applied in place with their kstatus view (as
 * reconcile.ts does), the default image.
 */
function internals(): ReconcilerInternals {
  return {
    deps: { defaults: { image: 'img' }, events: { warning: () => Promise.resolve(), normal: () => Promise.resolve() } },
    record: (c: JobCtx, _write: string, mutate: (st: StreamJobStatus) => StreamJobStatus) => {
      const input = { job: c.job, rejected: c.rejected, defaults: { image: 'img' }, now: c.now };
      c.job = { ...c.job, status: deriveKstatus(mutate(structuredClone(c.job.status ?? {})), input) };
      return Promise.resolve(c.job);
    },
  } as unknown as ReconcilerInternals;
}

/** Slot `slot`'s pod, Running and ready unless `phase` says it ended. */
function slotPodAt(slot: number, phase: 'Running' | 'Succeeded' = 'Running'): Pod {
  return {
    metadata: { name: `j-d-1-${slot}` },
    status: {
      phase,
      podIP: `10.0.0.${slot + 1}`,
      conditions: [{ type: 'Ready', status: phase === 'Running' ? 'True' : 'False' }],
      ...(phase === 'Succeeded'
        ? {
            containerStatuses: [
              { name: 'slot', ready: false, restartCount: 0, state: { terminated: { exitCode: 0 } } },
            ],
          }
        : {}),
    },
  };
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
  const pods = [slotPodAt(0), slotPodAt(1)];
  const obs = {
    pods,
    current: new Map(pods.map((p, i) => [i, p])),
    others: [],
    failedSlots: [],
    readyCount: 2,
    deploymentId: 'd-1',
    runtime: { state: 'RUNNING' },
    slotRuntime: new Map([[1, { state: 'RUNNING' }]]),
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

describe('recordObservation: Ready is recomputed from the pods and every slot at every reconcile', () => {
  // A stop-with-savepoint the operator gave up on completed late in the runtime: slot 1 exited 0,
  // slot 0 idles (its runtime STOPPED), and the operation is pending (savepoint-failed, retrying).
  const stoppedUnderPendingOp = (): JobCtx => {
    const c = running(sampleSpec, 1);
    c.job.status!.pendingOperation = {
      kind: 'upgrade',
      targetSpecHash: 'h2',
      mode: 'savepoint',
      step: 'savepoint-failed',
      startedAt: '2026-01-01T00:00:00Z',
      timedOutSavepointIds: ['sp-7'],
    };
    const pods = [slotPodAt(0), slotPodAt(1, 'Succeeded')];
    c.obs = {
      ...c.obs,
      pods,
      current: new Map(pods.map((p, i) => [i, p])),
      readyCount: 1,
      runtime: { state: 'STOPPED' } as unknown as StatusResponse,
      slotRuntime: new Map(),
    };
    return c;
  };

  it('says False SlotsNotRunning, naming each slot that does not run, while an operation is pending', async () => {
    const c = stoppedUnderPendingOp();
    await recordObservation(internals(), c, []);
    expect(ready(c)).toMatchObject({ status: 'False', reason: 'SlotsNotRunning' });
    expect(ready(c)?.message).toContain('slot 0 (runtime STOPPED)');
    expect(ready(c)?.message).toContain('slot 1 (pod Succeeded, exit code 0)');
  });

  it('says False when a slot other than 0 stopped though its pod still looks ready (each slot is asked)', async () => {
    const c = running(sampleSpec, 1);
    c.obs = { ...c.obs, slotRuntime: new Map([[1, { state: 'STOPPED' }]]) };
    await recordObservation(internals(), c, []);
    expect(ready(c)).toMatchObject({
      status: 'False',
      reason: 'SlotsNotRunning',
      message: 'not running: slot 1 (runtime STOPPED)',
    });
    expect(c.job.status?.conditions?.find((x) => x.type === 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'SlotsNotRunning',
    });
  });

  it('says True again once every slot runs, with the operation still pending (its savepoint in flight)', async () => {
    const c = stoppedUnderPendingOp();
    await recordObservation(internals(), c, []);
    const pods = [slotPodAt(0), slotPodAt(1)];
    c.obs = {
      ...c.obs,
      pods,
      current: new Map(pods.map((p, i) => [i, p])),
      readyCount: 2,
      runtime: { state: 'RUNNING' } as unknown as StatusResponse,
      slotRuntime: new Map([[1, { state: 'RUNNING' }]]),
    };
    c.job.status!.pendingOperation!.step = 'savepoint-triggered';
    await recordObservation(internals(), c, []);
    expect(ready(c)).toMatchObject({ status: 'True', reason: 'Running' });
  });

  it('leaves Ready to the operation once it replaces the pods', async () => {
    const c = stoppedUnderPendingOp();
    c.job.status!.pendingOperation!.step = 'state-ready';
    await recordObservation(internals(), c, []);
    expect(ready(c)).toMatchObject({ status: 'False', reason: 'Upgrade' });
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
      reason: 'TopicMissing',
      message:
        'waiting for topic clicks-in (source clicks, since 2026-01-01T00:00:00Z); topic views-in (source views, since 2026-01-01T00:00:01Z): the job runs and reads once it exists',
    });
    expect(waitingCondition(job, { runtime: rt({}) })).toEqual({
      waiting: false,
      reason: 'Reading',
      message: 'every source reads its input',
    });
  });

  it('says PartitionsUnread, naming topic and partitions, while slot 0 reports partitions no slot reads', () => {
    const job = sampleJob(sampleSpec, { deployed: deployment });
    const unreadPartitions = [{ source: 'clicks', topic: 'clicks-in', partitions: [2, 5] }];
    expect(waitingCondition(job, { runtime: rt({ unreadPartitions }) })).toEqual({
      waiting: true,
      reason: 'PartitionsUnread',
      message: 'no slot reads partitions 2, 5 of topic clicks-in (source clicks): their records are not processed',
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

describe('recordObservation: slot exceptions', () => {
  it('sends a Warning SlotException for a slot that ended, once across reconciles', async () => {
    const sent: string[] = [];
    const r = internals();
    r.deps = {
      ...r.deps,
      events: {
        warning: (_o: unknown, reason: string, message: string) => (
          sent.push(`${reason}: ${message}`),
          Promise.resolve()
        ),
        normal: () => Promise.resolve(),
      },
    } as unknown as ReconcilerInternals['deps'];
    const c = running(sampleSpec, 1);
    const oom: Pod = {
      metadata: { name: 'j-d-1-1' },
      status: {
        phase: 'Failed',
        containerStatuses: [
          {
            name: 'slot',
            ready: false,
            restartCount: 0,
            state: { terminated: { reason: 'OOMKilled', exitCode: 137 } },
          },
        ],
      },
    };
    c.obs = { ...c.obs, current: new Map([...c.obs.current, [1, oom]]) };
    await recordObservation(r, c, []);
    await recordObservation(r, { ...c, now: new Date('2026-01-01T00:01:05Z') }, []);
    expect(sent).toEqual(['SlotException: slot 1 ended: OOMKilled, exit 137']);
  });
});
