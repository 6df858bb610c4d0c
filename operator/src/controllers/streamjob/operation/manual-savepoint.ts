// Manual savepoint (spec.savepointNonce changed): a savepoint of the running job, which keeps
// running; recorded in the savepoint history (historyLimit, older folders deleted unless the
// retention is Retain; then the orphan sweep). Retried
// with backoff, given up after 3 attempts; either way the nonce counts as acted on.
// A periodic savepoint (trigger periodic, periodic-savepoint.ts) is the same operation with its
// own outcome: reason periodic in the history, and a failure ends the operation at once (its
// retry is scheduled in status.periodicSavepoints, so it never holds the job).
import type { PendingOperation, SavepointRecord } from '../../../api/v1alpha1/streamjob.ts';
import { setJobCondition } from '../conditions.ts';
import type { JobCtx, ReconcilerInternals, StepResult } from '../job-context.ts';
import { addToHistory } from './savepoints.ts';
import { disposeDropped } from './dispose-savepoints.ts';
import { periodicCompleted, periodicFailed } from './periodic-savepoint.ts';
import { sweepOrphanSavepoints } from './sweep-orphans.ts';
import { retryLater, advanceSavepoint } from './advance-savepoint.ts';

export async function manualSavepoint(r: ReconcilerInternals, c: JobCtx, op: PendingOperation): StepResult {
  const { deps } = r;
  const gen = c.job.metadata.generation;
  if (op.notBefore && Date.parse(op.notBefore) > c.now.getTime())
    return { requeueAfter: Date.parse(op.notBefore) - c.now.getTime() };
  const nonce = c.job.spec.savepointNonce ?? 0;
  const periodic = op.trigger === 'periodic';
  const why = periodic ? 'periodic' : `savepointNonce ${nonce}`;
  const p = await advanceSavepoint(r, c, op, {
    stop: false,
    metricReason: periodic ? 'periodic' : 'manual',
    triggered: {
      write: 'savepoint-triggered',
      status: (s, id) =>
        setJobCondition(
          s,
          {
            type: 'SavepointInProgress',
            status: 'True',
            reason: 'Triggered',
            message: `savepoint ${id} (${why})`,
          },
          gen,
          c.now,
        ),
      event: (id) => `savepoint ${id} (${why})`,
    },
  });
  if (p.state === 'waiting') return p.result;
  if (p.state === 'completed') {
    let dropped: SavepointRecord[] = [];
    await r.record(c, 'savepoint-done', (s) => {
      const h = addToHistory(
        s.savepoints,
        {
          id: p.id,
          path: p.path,
          reason: periodic ? 'periodic' : 'manual',
          parallelism: s.deployed?.parallelism ?? 0,
          completedAt: c.now.toISOString(),
        },
        c.job.spec.savepoints?.historyLimit ?? 10,
      );
      s.savepoints = h.kept;
      dropped = h.dropped;
      if (periodic) periodicCompleted(s, c.job.spec, c.now);
      else s.savepointNonce = nonce;
      delete s.pendingOperation;
      s.phase = 'Running';
      setJobCondition(
        s,
        {
          type: 'SavepointInProgress',
          status: 'False',
          reason: 'Completed',
          message: `savepoint ${p.id} at ${p.path}`,
        },
        gen,
        c.now,
      );
      return s;
    });
    await deps.events.normal(
      c.job,
      'SavepointCompleted',
      `savepoint ${p.id} at ${p.path} (${periodic ? 'periodic' : 'manual'})`,
    );
    await disposeDropped(r, c, dropped);
    await sweepOrphanSavepoints(r, c);
    return r.after(c.job);
  }
  // A periodic one drops its operation at once (checkpoints and spec changes are never held) and
  // keeps its own retry schedule in status; a manual one is retried as an operation, 3 attempts.
  const giveUp = !periodic && p.attempt > 3;
  let retry = false;
  await r.record(c, 'savepoint-failed', (s) => {
    if (periodic) {
      delete s.pendingOperation;
      retry = periodicFailed(s, c.job.spec, c.now, p);
    } else if (giveUp) {
      delete s.pendingOperation;
      s.savepointNonce = nonce;
    } else {
      s.pendingOperation = retryLater(c, op, s.deploymentCounter ?? 0, p, p.message);
      retry = true;
    }
    setJobCondition(
      s,
      { type: 'SavepointInProgress', status: 'False', reason: p.reason, message: p.message },
      gen,
      c.now,
    );
    return s;
  });
  const inSeconds = `${Math.round(p.delay / 1000)}s`;
  const outcome = periodic
    ? retry
      ? ` (attempt ${p.attempt - 1}; retry in ${inSeconds})`
      : ` (attempt ${p.attempt - 1}, the last; the next at the next interval)`
    : giveUp
      ? ' (gave up after 3 attempts)'
      : ` (retry in ${inSeconds})`;
  await deps.events.warning(
    c.job,
    'SavepointFailed',
    `${periodic ? 'periodic' : 'manual'} savepoint: ${p.reason}: ${p.message}${outcome}`,
  );
  return retry ? { requeueAfter: p.delay } : r.after(c.job);
}
