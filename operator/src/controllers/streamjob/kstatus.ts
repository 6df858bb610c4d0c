// The kstatus view of a StreamJob (what kubectl wait, Argo CD and Flux read; cli-utils
// pkg/kstatus), derived from the rest of status at every status write, so it never disagrees
// with it. Pure.
//
//  * status.observedGeneration becomes metadata.generation only once the work for that
//    generation is done: no operation pending and the spec asks for none (spec/diff.ts), or
//    the spec is rejected (nothing will be done for it), or the job Failed and waits for a
//    spec change. Until then it keeps the last settled generation: a rescale is in progress
//    until its new pods run. It never moves backwards.
//  * Ready's own observedGeneration is that settled generation: `kubectl wait
//    --for=condition=Ready` ignores a condition of an older generation, so right after a
//    change it waits for the operation the change starts.
//  * While an operation deploys, replaces or removes pods, Ready is False with the
//    operation's name as reason. Before that (a savepoint taken, failed or retried) the old
//    pods are what runs, and Ready is what every reconcile observes of them
//    (record-observation.ts, readiness.ts): True only while every slot's pod is ready and its
//    runtime RUNNING; False SlotsNotRunning naming the slots that ended (e.g. after a
//    stop-with-savepoint the operator did not see complete), NotReady while they come up.
//  * Reconciling is True while an operation is pending, a generation is not acted on yet, or
//    slots of the running deployment are not ready. Stalled is True when only the user can
//    unblock the job: a rejected spec (whether or not the last valid spec keeps running),
//    MaxRestartsExceeded, an operation whose savepoint failed STALLED_AFTER_ATTEMPTS times
//    (it keeps retrying), an operation a state policy blocks (NoFreshCheckpoint: a failed
//    savepoint and no checkpoint young enough; NoStateToRestore: nothing to start from). A
//    stalled job is not Reconciling (kstatus takes whichever is True).
//
// A Finished job (a bounded job that ran to the end of its input) is neither Reconciling nor
// Stalled, so kstatus reports it Current (like a completed Kubernetes Job); its Ready is False
// with reason Finished, as nothing runs. Wait for it with `kubectl wait
// --for=jsonpath='{.status.phase}'=Finished`.
//
// A job waiting for its input (WaitingForInput True: a topic not created yet) is neither
// Reconciling nor Stalled, and stays Ready: it runs as asked and reads once the topic exists.
// Holding Ready back would deadlock the common path where the first producer creates the
// topic after `kubectl wait --for=condition=Ready` returned.
import type { StreamJob, StreamJobStatus } from '../../api/v1alpha1/streamjob.ts';
import { jobCondition, operationName, setJobCondition, type JobConditionInput } from './conditions.ts';
import { describeOp } from './operation/kinds.ts';
import { OLD_PODS_RUN } from './readiness.ts';
import { classify } from './spec/diff.ts';
import { specHash } from './spec/hash.ts';
import type { JobDefaults } from './state-storage.ts';

export interface KstatusInput {
  /** The job the status is written for (its spec and metadata.generation). */
  readonly job: StreamJob;
  /** Why the spec is rejected; undefined when it is valid. */
  readonly rejected: string | undefined;
  readonly defaults: JobDefaults;
  readonly now: Date;
}

/** Failed savepoints after which an operation they block counts as Stalled. */
export const STALLED_AFTER_ATTEMPTS = 3;

/** Nothing is left to do for the job's generation. */
export function settled(s: StreamJobStatus, i: KstatusInput): boolean {
  if (s.pendingOperation) return false;
  if (i.rejected !== undefined) return true;
  // Failed and Finished wait for a spec change (decide-operation.ts); a savepointNonce asks them for nothing.
  if ((s.phase === 'Failed' || s.phase === 'Finished') && s.deployed?.specHash === specHash(i.job.spec, i.defaults))
    return true;
  return classify({ ...i.job, status: s }, i.job.spec, i.defaults).kind === 'none';
}

/** Why only the user can unblock the job, if so. */
export function stalledBy(
  s: StreamJobStatus,
  i: KstatusInput,
):
  | {
      reason: 'InvalidSpec' | 'MaxRestartsExceeded' | 'SavepointBlocked' | 'NoFreshCheckpoint' | 'NoStateToRestore';
      message: string;
    }
  | undefined {
  if (i.rejected !== undefined) return { reason: 'InvalidSpec', message: i.rejected };
  if (s.phase === 'Failed')
    return {
      reason: 'MaxRestartsExceeded',
      message: s.lastError ?? 'gave up after restartPolicy.maxRestarts restarts',
    };
  const op = s.pendingOperation;
  // The state policies (operation/state-policy.ts) block an operation before it touched a pod.
  const degraded = jobCondition(s, 'Degraded');
  if (
    op &&
    OLD_PODS_RUN.has(op.step) &&
    degraded?.status === 'True' &&
    (degraded.reason === 'NoFreshCheckpoint' || degraded.reason === 'NoStateToRestore')
  )
    return { reason: degraded.reason, message: degraded.message };
  const failures = (op?.attempt ?? 1) - 1;
  if (
    op &&
    op.kind !== 'savepoint' &&
    op.mode === 'savepoint' &&
    OLD_PODS_RUN.has(op.step) &&
    failures >= STALLED_AFTER_ATTEMPTS
  ) {
    return {
      reason: 'SavepointBlocked',
      message: `${op.kind} blocked by ${failures} failed savepoints; the old pods keep running and it keeps retrying (fix the cause, or set savepoints.onFailure: fallbackToCheckpoint or another upgradeMode): ${op.message ?? ''}`,
    };
  }
  return undefined;
}

function reconciling(s: StreamJobStatus, i: KstatusInput, done: boolean, stalled: boolean): JobConditionInput {
  const op = s.pendingOperation;
  const gen = i.job.metadata.generation;
  if (stalled)
    return { type: 'Reconciling', status: 'False', reason: 'Stalled', message: 'stalled: see the Stalled condition' };
  if (op)
    return {
      type: 'Reconciling',
      status: 'True',
      reason: operationName(op.kind),
      message: `${describeOp(op)}${op.message ? `: ${op.message}` : ''}`,
    };
  if (!done)
    return {
      type: 'Reconciling',
      status: 'True',
      reason: 'SpecChanged',
      message: `generation ${gen} not acted on yet`,
    };
  const ready = jobCondition(s, 'Ready');
  if (ready?.status === 'False' && (ready.reason === 'NotReady' || ready.reason === 'SlotsNotRunning'))
    return { type: 'Reconciling', status: 'True', reason: ready.reason, message: ready.message };
  return { type: 'Reconciling', status: 'False', reason: 'Reconciled', message: `generation ${gen} reconciled` };
}

/** Sets observedGeneration, Reconciling, Stalled and what Ready says during an operation, in place. */
export function deriveKstatus(s: StreamJobStatus, i: KstatusInput): StreamJobStatus {
  const gen = i.job.metadata.generation;
  const op = s.pendingOperation;
  if (op && op.kind !== 'savepoint' && op.kind !== 'delete') {
    const ready = jobCondition(s, 'Ready');
    // Before the operation touches the deployed pods, Ready is what the observation says of them
    // (record-observation.ts), running or not; after that, the operation's name.
    const observed = ready?.status === 'True' || ready?.reason === 'NotReady' || ready?.reason === 'SlotsNotRunning';
    if (!(op.kind !== 'liveRescale' && OLD_PODS_RUN.has(op.step) && s.deployed !== undefined && observed)) {
      setJobCondition(
        s,
        { type: 'Ready', status: 'False', reason: operationName(op.kind), message: describeOp(op) },
        gen,
        i.now,
      );
    }
  }
  const done = settled(s, i);
  if (done && gen !== undefined && (s.observedGeneration === undefined || gen > s.observedGeneration))
    s.observedGeneration = gen;
  const stalled = stalledBy(s, i);
  setJobCondition(
    s,
    stalled
      ? { type: 'Stalled', status: 'True', ...stalled }
      : { type: 'Stalled', status: 'False', reason: 'NotStalled', message: 'nothing needs the user' },
    gen,
    i.now,
  );
  setJobCondition(s, reconciling(s, i, done, stalled !== undefined), gen, i.now);
  // Ready speaks for the settled generation (kubectl wait compares it with metadata.generation).
  s.conditions = s.conditions?.map((c) => {
    if (c.type !== 'Ready') return c;
    const { observedGeneration: _, ...rest } = c;
    return s.observedGeneration === undefined ? rest : { ...rest, observedGeneration: s.observedGeneration };
  });
  return s;
}
