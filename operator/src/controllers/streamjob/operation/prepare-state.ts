// recorded → state-ready: decide where the new pods' state comes from, and record it before
// any pod is touched. Savepoint mode stops the job with a savepoint (stop-with-savepoint.ts);
// last-state takes the newest checkpoint (a savepoint when there is none yet); with nothing
// running the newest retained state is restored, never empty by accident: a stateful job with
// no state to start from waits, Stalled, for the user (state-policy.ts). Until the savepoint
// is in flight, a changed spec re-plans the operation (replan.ts).
import type { PendingOperation } from '../../../api/v1alpha1/streamjob.ts';
import { setJobCondition } from '../conditions.ts';
import type { JobCtx, ReconcilerInternals, StepResult } from '../job-context.ts';
import { maybeReplan } from './replan.ts';
import { latestRestorePoint, lineageOf, lineageSince } from './restore-point.ts';
import { emptyStartRefusal } from './state-policy.ts';
import { stopWithSavepoint } from './stop-with-savepoint.ts';

export async function prepareState(r: ReconcilerInternals, c: JobCtx, op: PendingOperation): StepResult {
  if (op.notBefore && Date.parse(op.notBefore) > c.now.getTime() && op.mode === 'savepoint') {
    const replanned = await maybeReplan(r, c, op);
    if (replanned !== false) return replanned;
    const wait = Math.max(200, Date.parse(op.notBefore) - c.now.getTime());
    // A savepoint given up on may complete during the backoff (and stop the job): asked meanwhile.
    if (op.timedOutSavepointIds?.length) return stopWithSavepoint(r, c, op, wait);
    return { requeueAfter: wait };
  }
  if (op.step !== 'savepoint-triggered') {
    const replanned = await maybeReplan(r, c, op);
    if (replanned !== false) return replanned;
  }
  let restoreFrom = op.restoreFrom;
  let mode = op.mode ?? 'stateless';
  if (mode === 'last-state') {
    const cp = c.obs.runtime?.lastCheckpoint?.path ?? latestRestorePoint(c.job);
    if (!cp)
      mode = 'savepoint'; // nothing checkpointed yet: keep the state with a savepoint instead
    else restoreFrom = cp;
  }
  if (mode === 'savepoint' && (c.obs.current.size === 0 || c.obs.finished)) {
    // Nothing runs to take a savepoint from (no pods, or a job that ran to the end of its input
    // while the operation waited): the newest retained state, never empty by accident.
    restoreFrom = latestRestorePoint(c.job);
    mode = 'restore';
  }
  if (mode === 'savepoint') return stopWithSavepoint(r, c, op);
  // last-state, stateless, restore: state is known now. With none of its own, the spec's restore
  // path; with none at all, a stateful job that ran before starts empty only if its spec says so.
  if (mode === 'restore' && !restoreFrom) {
    restoreFrom = c.job.spec.restore?.savepointPath || undefined;
    const refused = emptyStartRefusal(c.job, op, restoreFrom);
    if (refused) return refuseEmptyStart(r, c, op, refused);
    if (!restoreFrom && op.kind !== 'deploy' && op.kind !== 'suspend' && c.job.status?.deployed)
      c.log.warn({ op }, 'no checkpoint or savepoint to restore: the job starts empty');
  }
  // last-state and restarts continue the running lineage: its pods may still complete
  // checkpoints (and commit their transactions) until they are gone, so the new pods pick
  // the newest one of the lineage themselves when they start; restoreFrom is only the fallback.
  // A resume carries the suspended lineage in the operation (status.resumeLatest, decide-operation.ts).
  const continues = mode === 'last-state' || (mode === 'restore' && op.kind !== 'deploy');
  const since = continues ? lineageSince(c.job) : op.restoreLatestSince;
  const lineage = continues ? lineageOf(c.job) : op.restoreLatestLineage;
  await r.record(c, 'state-ready', (s) => {
    s.pendingOperation = { ...op, mode, step: 'state-ready', stoppedAt: c.now.toISOString() };
    if (restoreFrom) s.pendingOperation.restoreFrom = restoreFrom;
    else delete s.pendingOperation.restoreFrom;
    if (since) s.pendingOperation.restoreLatestSince = since;
    else delete s.pendingOperation.restoreLatestSince;
    if (since && lineage) s.pendingOperation.restoreLatestLineage = lineage;
    else delete s.pendingOperation.restoreLatestLineage;
    return s;
  });
  return r.advance(c, c.job.status!.pendingOperation!);
}

/** The operation waits at `recorded` (nothing touched) until the spec names a state or allows empty. */
async function refuseEmptyStart(r: ReconcilerInternals, c: JobCtx, op: PendingOperation, why: string): StepResult {
  const degraded = c.job.status?.conditions?.find((x) => x.type === 'Degraded');
  if (op.message === why && degraded?.reason === 'NoStateToRestore' && degraded.status === 'True') return;
  await r.record(c, 'no-state-to-restore', (s) => {
    if (s.pendingOperation) s.pendingOperation.message = why;
    s.lastError = why;
    setJobCondition(
      s,
      { type: 'Degraded', status: 'True', reason: 'NoStateToRestore', message: why },
      c.job.metadata.generation,
      c.now,
    );
    return s;
  });
  await r.deps.events.warning(c.job, 'NoStateToRestore', why);
}
