// recorded → state-ready in savepoint mode: stop the running job with a savepoint and restore
// it. Nothing destructive has happened yet, so a failed savepoint leaves the old pods running
// (Degraded with the reason, retried with backoff), unless savepoints.onFailure is
// fallbackToCheckpoint and a checkpoint younger than maxCheckpointAge exists; with that policy
// and no such checkpoint the job is also Stalled (NoFreshCheckpoint; state-policy.ts).
import type { PendingOperation, SavepointRecord } from '../../../api/v1alpha1/streamjob.ts';
import { degradedByOperation, setJobCondition } from '../conditions.ts';
import type { JobCtx, ReconcilerInternals, StepResult } from '../job-context.ts';
import { addToHistory, savepointRequestId } from '../savepoints.ts';
import { disposeDropped } from './dispose-savepoints.ts';
import { PHASE_OF } from './kinds.ts';
import { lateSavepoint, withTimedOut } from './late-savepoint.ts';
import { retryLater, savepointStep, type SavepointOutcome } from './savepoint-step.ts';
import { lineageOf, lineageSince } from './restore-point.ts';
import { checkpointFallback } from './state-policy.ts';

export async function stopWithSavepoint(r: ReconcilerInternals, c: JobCtx, op: PendingOperation): StepResult {
  const { deps } = r;
  const gen = () => c.job.metadata.generation;
  const opNow = {
    ...op,
    savepointRequestId:
      op.savepointRequestId ??
      savepointRequestId(c.job, op.kind, c.job.status?.deploymentCounter ?? 0, op.attempt ?? 1),
  };
  const late = opNow.timedOutSavepointIds?.length ? await lateSavepoint(r, c, opNow) : undefined;
  const p: SavepointOutcome = late
    ? { state: 'completed', ...late, took: (c.now.getTime() - Date.parse(op.startedAt)) / 1000 }
    : await savepointStep(r, c, opNow, {
        stop: true,
        metricReason: op.kind,
        triggered: {
          step: 'savepoint-triggered',
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
              gen(),
              c.now,
            );
          },
          event: (id) => `stop-with-savepoint ${id} (${op.kind})`,
        },
      });
  if (p.state === 'waiting') return p.result;
  if (p.state === 'completed') {
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
        gen(),
        c.now,
      );
      if (degradedByOperation(s)) {
        setJobCondition(
          s,
          { type: 'Degraded', status: 'False', reason: 'SavepointCompleted', message: `savepoint ${p.id} completed` },
          gen(),
          c.now,
        );
      }
      return s;
    });
    await deps.events.normal(
      c.job,
      'SavepointCompleted',
      `savepoint ${p.id} at ${p.path} (${op.kind}, ${p.took.toFixed(1)}s)`,
    );
    await disposeDropped(r, c, dropped);
    return r.advance(c, c.job.status!.pendingOperation!);
  }
  deps.metrics.savepointDuration.observe(
    { result: 'failed', reason: op.kind },
    (c.now.getTime() - Date.parse(op.startedAt)) / 1000,
  );
  const fallback =
    c.job.spec.savepoints?.onFailure === 'fallbackToCheckpoint' ? checkpointFallback(c.job, c.obs, c.now) : undefined;
  const cp = fallback && 'use' in fallback ? fallback.use : undefined;
  const noFallback = fallback && 'refuse' in fallback ? fallback.refuse : undefined;
  if (cp) {
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
        gen(),
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
        gen(),
        c.now,
      );
      return s;
    });
    await deps.events.warning(
      c.job,
      'SavepointFailedUsedCheckpoint',
      `${p.message}; falling back to checkpoint ${cp.path} (completed ${cp.completedAt}, within maxCheckpointAge)`,
    );
    return r.advance(c, c.job.status!.pendingOperation!);
  }
  const why = `${p.reason}: ${p.message}`;
  await r.record(c, 'savepoint-failed', (s) => {
    s.pendingOperation = retryLater(c, opNow, s.deploymentCounter ?? 0, p, why);
    // A savepoint given up on may still complete (lateSavepoint asks again).
    const timedOut = p.reason === 'SavepointTimeout' ? withTimedOut(opNow) : opNow.timedOutSavepointIds;
    if (timedOut) s.pendingOperation.timedOutSavepointIds = timedOut;
    s.phase = 'Running';
    s.lastError = why;
    setJobCondition(
      s,
      { type: 'SavepointInProgress', status: 'False', reason: p.reason, message: p.message },
      gen(),
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
      gen(),
      c.now,
    );
    return s;
  });
  await deps.events.warning(
    c.job,
    'SavepointFailed',
    `${op.kind} blocked, old pods keep running: ${why}${noFallback ? `; no checkpoint to fall back to: ${noFallback}` : ''} (retry in ${Math.round(p.delay / 1000)}s)`,
  );
  return { requeueAfter: p.delay };
}
