// recorded → state-ready in savepoint mode: stop the running job with a savepoint and restore
// it. Nothing destructive has happened yet, so a failed savepoint leaves the old pods running
// (Degraded with the reason, retried with backoff), unless savepoints.onFailure is
// fallbackToCheckpoint and a checkpoint younger than maxCheckpointAge exists; with that policy
// and no such checkpoint the job is also Stalled (NoFreshCheckpoint; state-policy.ts).
import type { PendingOperation, SavepointRecord, StreamJobStatus } from '../../../api/v1alpha1/streamjob.ts';
import { degradedByOperation, jobCondition, setJobCondition } from '../conditions.ts';
import type { JobCtx, ReconcilerInternals, StepResult } from '../job-context.ts';
import { addToHistory, savepointRequestId } from './savepoints.ts';
import { disposeDropped } from './dispose-savepoints.ts';
import { PHASE_OF } from './kinds.ts';
import { lateSavepoints, withTimedOut, type LateSavepoints } from './late-savepoint.ts';
import {
  retryLater,
  advanceSavepoint,
  type SavepointOutcome,
  type AdvanceSavepointOptions,
} from './advance-savepoint.ts';
import { lineageOf, lineageSince } from './restore-point.ts';
import { checkpointFallback } from './state-policy.ts';

type Completed = Extract<SavepointOutcome, { state: 'completed' }>;
type Failed = Extract<SavepointOutcome, { state: 'failed' }>;

/**
 * `waitMs`: the retry is not due yet (backoff); only the savepoints given up on are asked
 * (late-savepoint.ts), and the step waits at most that long.
 */
export async function stopWithSavepoint(
  r: ReconcilerInternals,
  c: JobCtx,
  op: PendingOperation,
  waitMs?: number,
): StepResult {
  let opNow = {
    ...op,
    savepointRequestId:
      op.savepointRequestId ??
      savepointRequestId(c.job, op.kind, c.job.status?.deploymentCounter ?? 0, op.attempt ?? 1),
  };
  const late = opNow.timedOutSavepointIds?.length ? await lateSavepoints(r, c, opNow) : undefined;
  if (late && !late.completed) opNow = { ...opNow, ...(await reportUnresolved(r, c, opNow, late)) };
  if (waitMs !== undefined && !late?.completed) return { requeueAfter: Math.min(waitMs, 1_000) };
  const p: SavepointOutcome = late?.completed
    ? { state: 'completed', ...late.completed, took: (c.now.getTime() - Date.parse(op.startedAt)) / 1000 }
    : await advanceSavepoint(r, c, opNow, stopOptions(c, op));
  if (p.state === 'waiting') return p.result;
  if (p.state === 'completed') return savepointCompleted(r, c, op, opNow, p);
  r.deps.metrics.savepointDuration.observe(
    { result: 'failed', reason: op.kind },
    (c.now.getTime() - Date.parse(op.startedAt)) / 1000,
  );
  const fallback =
    c.job.spec.savepoints?.onFailure === 'fallbackToCheckpoint' ? checkpointFallback(c.job, c.obs, c.now) : undefined;
  const cp = fallback && 'use' in fallback ? fallback.use : undefined;
  const noFallback = fallback && 'refuse' in fallback ? fallback.refuse : undefined;
  if (cp) return fallBackToCheckpoint(r, c, opNow, p, cp);
  return savepointFailed(r, c, op, opNow, p, noFallback);
}

function stopOptions(c: JobCtx, op: PendingOperation): AdvanceSavepointOptions {
  return {
    stop: true,
    metricReason: op.kind,
    triggered: {
      write: 'savepoint-triggered',
      status: (s, id) => {
        s.phase = 'Savepointing';
        setJobCondition(
          s,
          {
            type: 'SavepointInProgress',
            status: 'True',
            reason: 'Triggered',
            message: `stop-with-savepoint ${id} for ${op.kind}`,
          },
          c.job.metadata.generation,
          c.now,
        );
      },
      event: (id) => `stop-with-savepoint ${id} (${op.kind})`,
    },
  };
}

/** The savepoint completed: recorded in the history, and the operation restores from it. */
async function savepointCompleted(
  r: ReconcilerInternals,
  c: JobCtx,
  op: PendingOperation,
  opNow: PendingOperation,
  p: Completed,
): StepResult {
  let dropped: SavepointRecord[] = [];
  await r.record(c, 'state-ready', (s) => {
    const h = addToHistory(
      s.savepoints,
      {
        id: p.id,
        path: p.path,
        reason: op.kind,
        parallelism: s.deployed?.parallelism ?? 0,
        completedAt: c.now.toISOString(),
      },
      c.job.spec.savepoints?.historyLimit ?? 10,
    );
    s.savepoints = h.kept;
    dropped = h.dropped;
    restoreFromSavepoint(s, c, op, opNow, p);
    return s;
  });
  await r.deps.events.normal(
    c.job,
    'SavepointCompleted',
    `savepoint ${p.id} at ${p.path} (${op.kind}, ${p.took.toFixed(1)}s)`,
  );
  await disposeDropped(r, c, dropped);
  return r.advance(c, c.job.status!.pendingOperation!);
}

/** The operation, its savepoint completed: it restores from it, and the savepoint no longer degrades the job. */
function restoreFromSavepoint(
  s: StreamJobStatus,
  c: JobCtx,
  op: PendingOperation,
  opNow: PendingOperation,
  p: Completed,
): void {
  s.pendingOperation = {
    ...opNow,
    savepointId: p.id,
    restoreFrom: p.path,
    step: 'state-ready',
    stoppedAt: c.now.toISOString(),
  };
  delete s.pendingOperation.message;
  delete s.pendingOperation.timedOutSavepointIds;
  s.phase = PHASE_OF[op.kind];
  setJobCondition(
    s,
    {
      type: 'SavepointInProgress',
      status: 'False',
      reason: 'Completed',
      message: `savepoint ${p.id} at ${p.path}`,
    },
    c.job.metadata.generation,
    c.now,
  );
  if (degradedByOperation(s)) {
    setJobCondition(
      s,
      { type: 'Degraded', status: 'False', reason: 'SavepointCompleted', message: `savepoint ${p.id} completed` },
      c.job.metadata.generation,
      c.now,
    );
  }
}

/** The savepoint failed, and onFailure fallbackToCheckpoint has a fresh checkpoint: the operation restores that. */
async function fallBackToCheckpoint(
  r: ReconcilerInternals,
  c: JobCtx,
  opNow: PendingOperation,
  p: Failed,
  cp: { path: string; completedAt: string },
): StepResult {
  const since = lineageSince(c.job);
  const lineage = lineageOf(c.job);
  await r.record(c, 'state-ready', (s) => {
    // The new pods restore the newest state of the lineage, `cp` unless a newer one exists: a
    // savepoint given up on may still complete while the old pods go (a storage that came back),
    // and its sink transactions are then committed — restoring the older checkpoint would repeat them.
    s.pendingOperation = {
      ...opNow,
      restoreFrom: cp.path,
      ...(since ? { restoreLatestSince: since } : {}),
      ...(since && lineage ? { restoreLatestLineage: lineage } : {}),
      step: 'state-ready',
      stoppedAt: c.now.toISOString(),
      message: `${p.reason}: ${p.message}; using checkpoint ${cp.path}`,
    };
    setJobCondition(
      s,
      { type: 'SavepointInProgress', status: 'False', reason: p.reason, message: p.message },
      c.job.metadata.generation,
      c.now,
    );
    setJobCondition(
      s,
      {
        type: 'Degraded',
        status: 'True',
        reason: 'SavepointFailedUsedCheckpoint',
        message: `${p.message}; restoring checkpoint ${cp.path} (completed ${cp.completedAt})`,
      },
      c.job.metadata.generation,
      c.now,
    );
    return s;
  });
  await r.deps.events.warning(
    c.job,
    'SavepointFailedUsedCheckpoint',
    `${p.message}; falling back to checkpoint ${cp.path} (completed ${cp.completedAt}, within maxCheckpointAge)`,
  );
  return r.advance(c, c.job.status!.pendingOperation!);
}

/** The savepoint failed with nothing to fall back to: the old pods keep running and it is retried. */
async function savepointFailed(
  r: ReconcilerInternals,
  c: JobCtx,
  op: PendingOperation,
  opNow: PendingOperation,
  p: Failed,
  noFallback: string | undefined,
): StepResult {
  const why = `${p.reason}: ${p.message}`;
  await r.record(c, 'savepoint-failed', (s) => {
    s.pendingOperation = retryLater(c, opNow, s.deploymentCounter ?? 0, p, why);
    // A savepoint given up on before its outcome was known may still complete (late-savepoint.ts asks again).
    const timedOut = p.unresolved ? withTimedOut(opNow) : opNow.timedOutSavepointIds;
    if (timedOut?.length) s.pendingOperation.timedOutSavepointIds = timedOut;
    else delete s.pendingOperation.timedOutSavepointIds;
    s.phase = 'Running';
    s.lastError = why;
    setJobCondition(
      s,
      { type: 'SavepointInProgress', status: 'False', reason: p.reason, message: p.message },
      c.job.metadata.generation,
      c.now,
    );
    setJobCondition(
      s,
      noFallback
        ? {
            type: 'Degraded',
            status: 'True',
            reason: 'NoFreshCheckpoint',
            message: `savepoint before ${op.kind} failed (${why}) and onFailure fallbackToCheckpoint cannot use a checkpoint: ${noFallback}; the old pods keep running, savepoint retry ${p.attempt} in ${Math.round(p.delay / 1000)}s`,
          }
        : {
            type: 'Degraded',
            status: 'True',
            reason: p.reason,
            message: `savepoint before ${op.kind} failed, the old pods keep running; retry ${p.attempt} in ${Math.round(p.delay / 1000)}s: ${p.message}`,
          },
      c.job.metadata.generation,
      c.now,
    );
    return s;
  });
  await r.deps.events.warning(
    c.job,
    'SavepointFailed',
    `${op.kind} blocked, old pods keep running: ${why}${noFallback ? `; no checkpoint to fall back to: ${noFallback}` : ''} (retry in ${Math.round(p.delay / 1000)}s)`,
  );
  // A savepoint given up on with its outcome unknown is asked again soon, not only when the retry is due.
  return {
    requeueAfter: c.job.status?.pendingOperation?.timedOutSavepointIds?.length ? Math.min(p.delay, 1_000) : p.delay,
  };
}

/**
 * Savepoints given up on whose outcome is still unknown: forget those the runtime says FAILED;
 * report those that could not be asked (SavepointInProgress Unknown + a Warning Event when the
 * report changes). Returns the operation's remaining ids.
 */
async function reportUnresolved(
  r: ReconcilerInternals,
  c: JobCtx,
  op: PendingOperation,
  late: LateSavepoints,
): Promise<Pick<PendingOperation, 'timedOutSavepointIds'>> {
  const kept = (op.timedOutSavepointIds ?? []).filter((id) => !late.failed.includes(id));
  const message =
    late.errors.length > 0
      ? `outcome unknown of savepoint(s) given up on, asked again at every reconcile: ${late.errors.map((e) => `${e.id}: ${e.message}`).join('; ')}`
      : undefined;
  const prev = jobCondition(c.job.status, 'SavepointInProgress');
  const report = message !== undefined && (prev?.reason !== 'LateSavepointUnresolved' || prev.message !== message);
  if (late.failed.length === 0 && !report) return { timedOutSavepointIds: kept };
  await r.record(c, 'late-savepoints', (s) => {
    if (!s.pendingOperation) return s;
    if (kept.length > 0) s.pendingOperation.timedOutSavepointIds = kept;
    else delete s.pendingOperation.timedOutSavepointIds;
    if (message)
      setJobCondition(
        s,
        { type: 'SavepointInProgress', status: 'Unknown', reason: 'LateSavepointUnresolved', message },
        c.job.metadata.generation,
        c.now,
      );
    return s;
  });
  if (report) await r.deps.events.warning(c.job, 'LateSavepointUnresolved', message);
  return kept.length > 0 ? { timedOutSavepointIds: kept } : {};
}
