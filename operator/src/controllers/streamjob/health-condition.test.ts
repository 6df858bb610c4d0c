// The health check through the reconcile's own stages (recordObservation, then decide) over a
// simulated clock: the condition, its Events, and the restart restartOnUnhealthy asks for.
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { StatusResponse } from '../../../../runtime/src/control/contract.ts';
import type { StreamJob, StreamJobSpec, StreamJobStatus } from '../../api/v1alpha1/streamjob.ts';
import { decide } from './decide-operation.ts';
import type { JobCtx, ReconcilerInternals } from './job-context.ts';
import { deriveKstatus } from './kstatus.ts';
import { streamJobMetrics } from './metrics.ts';
import type { Observation } from './observer.ts';
import type { Pod } from './objects/slot-pod.ts';
import { recordObservation } from './record-observation.ts';
import { specHash } from './spec/hash.ts';
import { sampleJob, sampleSpec } from './testing/sample-job.ts';

interface Recorded {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

function internals(events: Recorded[], registry = new Registry()): ReconcilerInternals {
  const r = {
    deps: {
      defaults: { image: 'img' },
      events: {
        warning: (_o: unknown, reason: string, message: string) => {
          events.push({ type: 'Warning', reason, message });
          return Promise.resolve();
        },
        normal: (_o: unknown, reason: string, message: string) => {
          events.push({ type: 'Normal', reason, message });
          return Promise.resolve();
        },
      },
      metrics: streamJobMetrics(registry),
    },
    record: (c: JobCtx, _write: string, mutate: (st: StreamJobStatus) => StreamJobStatus) => {
      const input = { job: c.job, rejected: c.rejected, defaults: { image: 'img' }, now: c.now };
      c.job = { ...c.job, status: deriveKstatus(mutate(structuredClone(c.job.status ?? {})), input) };
      return Promise.resolve(c.job);
    },
    runtimeBackoff: () => 5_000,
    after: () => ({ requeueAfter: 15_000 }),
    // The restart's own steps (operation/advance.ts) are tested with it; here it stops once recorded.
    advance: () => Promise.resolve({ requeueAfter: 1_000 }),
  };
  return r as unknown as ReconcilerInternals;
}

const pod = (slot: number): Pod => ({
  metadata: { name: `j-d-1-${slot}` },
  status: { phase: 'Running', podIP: `10.0.0.${slot + 1}`, conditions: [{ type: 'Ready', status: 'True' }] },
});

const t0 = Date.parse('2026-11-27T03:00:00Z');
const at = (s: number) => new Date(t0 + s * 1000).toISOString();

/** `job` observed at `nowS`: 2 slots ready and RUNNING, slot 0 reporting `lastCheckpoint`. */
function reconcileAt(job: StreamJob, nowS: number, lastCheckpoint?: { id: number; s: number }): JobCtx {
  const pods = [pod(0), pod(1)];
  const runtime = {
    state: 'RUNNING',
    ...(lastCheckpoint
      ? {
          lastCheckpoint: {
            id: lastCheckpoint.id,
            completedAt: at(lastCheckpoint.s),
            path: `/s/chk-${lastCheckpoint.id}`,
          },
        }
      : {}),
  } as unknown as StatusResponse;
  const obs = {
    pods,
    current: new Map(pods.map((p, i) => [i, p])),
    others: [],
    failedSlots: [],
    finishedSlots: new Map(),
    finished: false,
    readyCount: 2,
    deploymentId: 'd-1',
    runtime,
    slotRuntime: new Map([[1, { state: 'RUNNING' }]]),
  } as unknown as Observation;
  return { job, log: pino({ level: 'silent' }), obs, now: new Date(t0 + nowS * 1000) };
}

function runningJob(spec: StreamJobSpec): StreamJob {
  const deployed = {
    id: 'd-1',
    specHash: specHash(spec, { image: 'img' }),
    parallelism: 2,
    startedAt: at(0),
    spec: JSON.stringify(spec),
  };
  const status: StreamJobStatus = { phase: 'Running', observedGeneration: 1, deployed };
  return { ...sampleJob(spec, status), metadata: { name: 'j', namespace: 'n', uid: 'u1', generation: 1 } };
}

/** One reconcile as reconcile.ts runs it with no operation pending. */
async function reconcile(r: ReconcilerInternals, c: JobCtx) {
  await recordObservation(r, c, []);
  const res = await decide(r, c, c.job.spec);
  return { job: c.job, res };
}

const cond = (j: StreamJob, type: string) => j.status?.conditions?.find((x) => x.type === type);

describe('the health check in the reconcile (spec.health)', () => {
  it('turns CheckpointProgress False with one Warning when checkpoints stop, and True with a Normal when one completes', async () => {
    const events: Recorded[] = [];
    const r = internals(events);
    let job = runningJob({ ...sampleSpec, health: { checkpointTimeout: '60s' } });
    ({ job } = await reconcile(r, reconcileAt(job, 10, { id: 1, s: 5 })));
    expect(cond(job, 'CheckpointProgress')).toMatchObject({ status: 'True', reason: 'CheckpointsCompleting' });
    // Checkpoint 1 is the last one: at 65 s it is still within the bound, and the reconcile wakes when it passes.
    const within = await reconcile(r, reconcileAt(job, 65, { id: 1, s: 5 }));
    job = within.job;
    expect(within.res).toEqual({ requeueAfter: 1 });
    expect(events).toEqual([]);
    for (const s of [66, 80, 120]) ({ job } = await reconcile(r, reconcileAt(job, s, { id: 1, s: 5 })));
    expect(cond(job, 'CheckpointProgress')).toMatchObject({ status: 'False', reason: 'CheckpointsStalled' });
    expect(cond(job, 'CheckpointProgress')?.message).toContain(`the last completed checkpoint is 1 at ${at(5)}`);
    expect(events).toEqual([
      expect.objectContaining({ type: 'Warning', reason: 'CheckpointsStalled' }), // once, not per reconcile
    ]);
    // No restart without restartOnUnhealthy; kstatus: not Stalled, nothing to reconcile, Ready as the pods say.
    expect(job.status?.pendingOperation).toBeUndefined();
    expect(cond(job, 'Stalled')?.status).toBe('False');
    expect(cond(job, 'Reconciling')?.status).toBe('False');
    expect(cond(job, 'Ready')?.status).toBe('True');
    ({ job } = await reconcile(r, reconcileAt(job, 130, { id: 2, s: 125 })));
    expect(cond(job, 'CheckpointProgress')).toMatchObject({ status: 'True', reason: 'CheckpointsCompleting' });
    expect(events.at(-1)).toMatchObject({ type: 'Normal', reason: 'CheckpointsCompleting' });
    expect(events.at(-1)?.message).toContain('checkpoint 2 completed');
    expect(events).toHaveLength(2);
  });

  it('with restartOnUnhealthy, restarts from the newest state once the bound passes, counted as a restart', async () => {
    const events: Recorded[] = [];
    const registry = new Registry();
    const r = internals(events, registry);
    const unhealthyRestarts = async () =>
      (await registry.getSingleMetric('tributary_operator_streamjob_unhealthy_restarts_total')?.get())?.values;
    let job = runningJob({ ...sampleSpec, health: { checkpointTimeout: '60s', restartOnUnhealthy: true } });
    ({ job } = await reconcile(r, reconcileAt(job, 30, { id: 3, s: 20 })));
    expect(job.status?.pendingOperation).toBeUndefined();
    ({ job } = await reconcile(r, reconcileAt(job, 81, { id: 3, s: 20 })));
    const op = job.status?.pendingOperation;
    expect(op).toMatchObject({ kind: 'restart', mode: 'restore' });
    expect(op?.message).toContain('no checkpoint completed for longer than spec.health.checkpointTimeout 60s');
    expect(job.status?.restarts).toBe(1);
    expect(cond(job, 'Degraded')).toMatchObject({ status: 'True', reason: 'CheckpointsStalled' });
    expect(events.map((e) => `${e.type} ${e.reason}`)).toEqual([
      'Warning CheckpointsStalled',
      'Warning RestartUnhealthy',
      'Normal RestartStarted',
    ]);
    expect(events[1]?.message).toMatch(/restarting all slots from the latest checkpoint \(restart 1\/3\)/);
    // Counted once it is recorded; the reconcile's own observeJob (reconcile.ts) is not part of this test.
    expect(await unhealthyRestarts()).toEqual([{ labels: { namespace: 'n', name: 'j' }, value: 1 }]);
  });

  it('says nothing and restarts nothing while spec.health is absent', async () => {
    const events: Recorded[] = [];
    const r = internals(events);
    let job = runningJob(sampleSpec);
    for (const s of [10, 500, 5000]) ({ job } = await reconcile(r, reconcileAt(job, s, { id: 1, s: 5 })));
    expect(cond(job, 'CheckpointProgress')).toBeUndefined();
    expect(job.status?.pendingOperation).toBeUndefined();
    expect(events).toEqual([]);
  });
});
