import { describe, expect, it } from 'vitest';
import type {
  OperationStep,
  PendingOperation,
  StreamJob,
  StreamJobSpec,
  StreamJobStatus,
} from '../../api/v1alpha1/streamjob.ts';
import { jobCondition, setJobCondition } from './conditions.ts';
import { deriveKstatus, STALLED_AFTER_ATTEMPTS } from './kstatus.ts';
import { readyFollowsPods } from './readiness.ts';
import { specHash } from './spec/hash.ts';
import { sampleJob, sampleSpec as spec } from './testing/sample-job.ts';

const now = new Date('2026-01-01T00:00:00Z');
const at = (s: StreamJobSpec, generation: number, status: StreamJobStatus = {}): StreamJob => {
  const j = sampleJob(s, status);
  j.metadata.generation = generation;
  return j;
};
const deployedFor = (s: StreamJobSpec) => ({
  id: 'x-1',
  specHash: specHash(s, { image: 'img' }),
  parallelism: s.replicas,
  startedAt: '',
  spec: JSON.stringify(s),
});
const derive = (job: StreamJob, rejected?: string) =>
  deriveKstatus(structuredClone(job.status ?? {}), { job, rejected, defaults: { image: 'img' }, now });
const cond = (s: StreamJobStatus, type: 'Ready' | 'Reconciling' | 'Stalled') => {
  const c = jobCondition(s, type);
  return c && { status: c.status, reason: c.reason, observedGeneration: c.observedGeneration };
};
const running = (s: StreamJobSpec, extra: StreamJobStatus = {}): StreamJobStatus => {
  const st: StreamJobStatus = { phase: 'Running', deployed: deployedFor(s), observedGeneration: 1, ...extra };
  setJobCondition(st, { type: 'Ready', status: 'True', reason: 'Running', message: '2 slots running' }, 1, now);
  return st;
};
const rescale = (step: OperationStep, extra: Partial<PendingOperation> = {}): PendingOperation => ({
  kind: 'rescale',
  targetSpecHash: 'h',
  targetDeploymentId: 'y-2',
  mode: 'savepoint',
  attempt: 1,
  startedAt: '',
  step,
  ...extra,
});

describe('deriveKstatus', () => {
  it('a running job whose spec asks for nothing: settled at its generation, Ready, not Reconciling, not Stalled', () => {
    const s = derive(at(spec, 1, running(spec)));
    expect(s.observedGeneration).toBe(1);
    expect(cond(s, 'Ready')).toEqual({ status: 'True', reason: 'Running', observedGeneration: 1 });
    expect(cond(s, 'Reconciling')).toMatchObject({ status: 'False', reason: 'Reconciled' });
    expect(cond(s, 'Stalled')).toMatchObject({ status: 'False', reason: 'NotStalled' });
  });

  it('a rescale: observedGeneration and Ready stay at the old generation until the new pods run', () => {
    const scaled = { ...spec, replicas: 3 };
    // the new generation, not acted on yet
    let s = derive(at(scaled, 2, running(spec)));
    expect(s.observedGeneration).toBe(1);
    expect(cond(s, 'Reconciling')).toMatchObject({ status: 'True', reason: 'SpecChanged' });
    expect(cond(s, 'Ready')).toEqual({ status: 'True', reason: 'Running', observedGeneration: 1 });
    // savepoint in flight: the old pods still run
    s = derive(at(scaled, 2, running(spec, { pendingOperation: rescale('savepoint-triggered') })));
    expect(cond(s, 'Reconciling')).toMatchObject({ status: 'True', reason: 'Rescale' });
    expect(cond(s, 'Ready')?.status).toBe('True');
    // the old pods are going: Ready False with the operation as reason
    s = derive(at(scaled, 2, running(spec, { phase: 'Upgrading', pendingOperation: rescale('state-ready') })));
    expect(s.observedGeneration).toBe(1);
    expect(cond(s, 'Ready')).toEqual({ status: 'False', reason: 'Rescale', observedGeneration: 1 });
    // done: the deployed spec is the new one, nothing pending
    s = derive(at(scaled, 2, running(scaled)));
    expect(s.observedGeneration).toBe(2);
    expect(cond(s, 'Ready')).toEqual({ status: 'True', reason: 'Running', observedGeneration: 2 });
    expect(cond(s, 'Reconciling')?.status).toBe('False');
  });

  it('a live rescale: Ready False LiveRescale from its intent on, Reconciling says its progress, settles when done', () => {
    const scaled = { ...spec, replicas: 3 };
    const live = (step: OperationStep, message?: string): PendingOperation => ({
      kind: 'liveRescale',
      targetSpecHash: specHash(scaled, { image: 'img' }),
      targetDeploymentId: 'x-1',
      live: { from: 2, to: 3, requestId: 'r' },
      mode: 'last-state',
      startedAt: '',
      step,
      ...(message ? { message } : {}),
    });
    // Even at `recorded` (a savepoint rescale's old pods would speak for Ready), the job's pods change under it:
    // the observation does not set Ready (record-observation.ts), the operation does.
    expect(readyFollowsPods(rescale('recorded'))).toBe(true);
    expect(readyFollowsPods(live('recorded'))).toBe(false);
    let s = derive(at(scaled, 2, running(spec, { pendingOperation: live('recorded') })));
    expect(cond(s, 'Ready')).toEqual({ status: 'False', reason: 'LiveRescale', observedGeneration: 1 });
    expect(jobCondition(s, 'Ready')?.message).toMatch(
      /^live rescale from 2 to 3 slots .*\(the job processes throughout\)$/,
    );
    s = derive(
      at(scaled, 2, running(spec, { pendingOperation: live('migrating', 'step 4/9: 52 key groups, 1.2 MiB moved') })),
    );
    expect(s.observedGeneration).toBe(1);
    expect(cond(s, 'Reconciling')).toMatchObject({ status: 'True', reason: 'LiveRescale' });
    expect(jobCondition(s, 'Reconciling')?.message).toMatch(/: step 4\/9: 52 key groups, 1\.2 MiB moved$/);
    expect(cond(s, 'Stalled')?.status).toBe('False');
    // done: the same deployment id recorded at the new parallelism
    s = derive(at(scaled, 2, running(scaled)));
    expect(s.observedGeneration).toBe(2);
    expect(cond(s, 'Ready')).toEqual({ status: 'True', reason: 'Running', observedGeneration: 2 });
  });

  it('a first deploy is Reconciling with Ready False (Deploy) and no observedGeneration until it runs', () => {
    const s = derive(
      at(spec, 1, {
        phase: 'Deploying',
        pendingOperation: {
          kind: 'deploy',
          targetSpecHash: 'h',
          targetDeploymentId: 'x-1',
          startedAt: '',
          step: 'starting',
        },
      }),
    );
    expect(s.observedGeneration).toBeUndefined();
    expect(cond(s, 'Ready')).toEqual({ status: 'False', reason: 'Deploy', observedGeneration: undefined });
    expect(cond(s, 'Reconciling')).toMatchObject({ status: 'True', reason: 'Deploy' });
  });

  it('a rejected spec is Stalled (not Reconciling) and settles its generation; with something running Ready stays', () => {
    let s = derive(at(spec, 1, { phase: 'Invalid' }), 'spec rejected, nothing deployed: spec.graph: …');
    expect(s.observedGeneration).toBe(1);
    expect(cond(s, 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(cond(s, 'Reconciling')).toMatchObject({ status: 'False', reason: 'Stalled' });
    s = derive(at({ ...spec, replicas: 3 }, 2, running(spec)), 'spec rejected, the last valid spec keeps running: …');
    expect(s.observedGeneration).toBe(2);
    expect(cond(s, 'Stalled')?.reason).toBe('InvalidSpec');
    expect(cond(s, 'Ready')).toEqual({ status: 'True', reason: 'Running', observedGeneration: 2 });
  });

  it('Failed (maxRestarts) is Stalled until the spec changes', () => {
    const failed = running(spec, { phase: 'Failed', lastError: 'slot 1 failed; gave up after 3 restarts' });
    let s = derive(at(spec, 1, failed));
    expect(cond(s, 'Stalled')).toMatchObject({ status: 'True', reason: 'MaxRestartsExceeded' });
    expect(s.observedGeneration).toBe(1);
    s = derive(at({ ...spec, restartNonce: 1 }, 2, failed));
    expect(s.observedGeneration).toBe(1); // a redeploy is due
  });

  it('Finished (end of input) is Current for kstatus: settled, not Reconciling, not Stalled, Ready False Finished; a spec change reconciles', () => {
    const finished = running(spec, { phase: 'Finished', observedGeneration: 1 });
    setJobCondition(finished, { type: 'Ready', status: 'False', reason: 'Finished', message: 'input ended' }, 1, now);
    // a manual savepoint asked of a finished job is not taken: the generation still settles
    let s = derive(at({ ...spec, savepointNonce: 1 }, 2, finished));
    expect(s.observedGeneration).toBe(2);
    expect(cond(s, 'Reconciling')).toMatchObject({ status: 'False', reason: 'Reconciled' });
    expect(cond(s, 'Stalled')).toMatchObject({ status: 'False', reason: 'NotStalled' });
    expect(cond(s, 'Ready')).toEqual({ status: 'False', reason: 'Finished', observedGeneration: 2 });
    // a changed spec runs it again: in progress until the new deployment settles
    s = derive(at({ ...spec, restartNonce: 1 }, 3, finished));
    expect(s.observedGeneration).toBe(1);
    expect(cond(s, 'Reconciling')).toMatchObject({ status: 'True', reason: 'SpecChanged' });
  });

  it(`an operation blocked by ${STALLED_AFTER_ATTEMPTS} failed savepoints is Stalled; fewer failures are Reconciling`, () => {
    const blocked = (attempt: number) =>
      derive(
        at(
          { ...spec, replicas: 3 },
          2,
          running(spec, { pendingOperation: rescale('savepoint-failed', { attempt, message: 'SavepointTimeout: …' }) }),
        ),
      );
    expect(cond(blocked(STALLED_AFTER_ATTEMPTS), 'Stalled')?.status).toBe('False');
    expect(cond(blocked(STALLED_AFTER_ATTEMPTS), 'Reconciling')).toMatchObject({ status: 'True', reason: 'Rescale' });
    expect(cond(blocked(STALLED_AFTER_ATTEMPTS + 1), 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'SavepointBlocked',
    });
    expect(cond(blocked(STALLED_AFTER_ATTEMPTS + 1), 'Reconciling')?.status).toBe('False');
  });

  it('an operation a state policy blocks (NoFreshCheckpoint, NoStateToRestore) is Stalled at once with its message, until it moves on', () => {
    for (const reason of ['NoFreshCheckpoint', 'NoStateToRestore'] as const) {
      const st = running(spec, {
        pendingOperation: rescale(reason === 'NoFreshCheckpoint' ? 'savepoint-failed' : 'recorded', { attempt: 2 }),
      });
      setJobCondition(st, { type: 'Degraded', status: 'True', reason, message: `why ${reason}` }, 2, now);
      const s = derive(at({ ...spec, replicas: 3 }, 2, st));
      expect(jobCondition(s, 'Stalled')).toMatchObject({ status: 'True', reason, message: `why ${reason}` });
      expect(cond(s, 'Reconciling')).toMatchObject({ status: 'False', reason: 'Stalled' });
      // Past the point where it was blocked (state known, old pods going): no longer Stalled.
      st.pendingOperation = rescale('state-ready');
      expect(cond(derive(at({ ...spec, replicas: 3 }, 2, st)), 'Stalled')?.status).toBe('False');
    }
  });

  it('steady state with slots not ready is Reconciling; suspended is settled; observedGeneration never moves back', () => {
    const notReady = running(spec);
    setJobCondition(
      notReady,
      { type: 'Ready', status: 'False', reason: 'NotReady', message: '1/2 slots ready' },
      1,
      now,
    );
    expect(cond(derive(at(spec, 1, notReady)), 'Reconciling')).toMatchObject({ status: 'True', reason: 'NotReady' });
    const suspended = { ...spec, state: 'suspended' as const };
    expect(derive(at(suspended, 3, { phase: 'Suspended' })).observedGeneration).toBe(3);
    expect(derive(at(spec, 1, running(spec, { observedGeneration: 4 }))).observedGeneration).toBe(4);
  });
});
