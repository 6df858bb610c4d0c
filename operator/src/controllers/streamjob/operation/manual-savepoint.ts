// Manual savepoint (spec.savepointNonce changed): a savepoint of the running job, which keeps
// running; recorded in the savepoint history (historyLimit, older folders deleted unless the
// retention is Retain; then the orphan sweep). Retried
// with backoff, given up after 3 attempts; either way the nonce counts as acted on.
import type { PendingOperation, SavepointRecord } from '../../../api/v1alpha1/streamjob.ts';
import { setJobCondition } from '../conditions.ts';
import type { JobCtx, ReconcilerInternals, StepResult } from '../job-context.ts';
import { addToHistory } from '../savepoints.ts';
import { disposeDropped } from './dispose-savepoints.ts';
import { sweepOrphanSavepoints } from './sweep-orphans.ts';
import { retryLater, savepointStep } from './savepoint-step.ts';

export async function manualSavepoint(r: ReconcilerInternals, c: JobCtx, op: PendingOperation): StepResult {
  const { deps } = r;
  const gen = c.job.metadata.generation;
  if (op.notBefore && Date.parse(op.notBefore) > c.now.getTime())
    return { requeueAfter: Date.parse(op.notBefore) - c.now.getTime() };
  const nonce = c.job.spec.savepointNonce ?? 0;
  const p = await savepointStep(r, c, op, {
    stop: false,
    metricReason: 'manual',
    triggered: {
      step: 'savepoint-triggered',
      status: (s, id) =>
        setJobCondition(
          s,
          {
            type: 'SavepointInProgress',
            status: 'True',
            reason: 'Triggered',
            message: `savepoint ${id} (savepointNonce ${nonce})`,
          },
          gen,
          c.now,
        ),
      event: (id) => `savepoint ${id} (savepointNonce ${nonce})`,
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
          reason: 'manual',
          parallelism: s.deployed?.parallelism ?? 0,
          completedAt: c.now.toISOString(),
        },
        c.job.spec.savepoints?.historyLimit ?? 10,
      );
      s.savepoints = h.kept;
      dropped = h.dropped;
      s.savepointNonce = nonce;
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
    await deps.events.normal(c.job, 'SavepointCompleted', `savepoint ${p.id} at ${p.path} (manual)`);
    await disposeDropped(r, c, dropped);
    await sweepOrphanSavepoints(r, c);
    return r.after(c.job);
  }
  const giveUp = p.attempt > 3;
  await r.record(c, 'savepoint-failed', (s) => {
    if (giveUp) {
      delete s.pendingOperation;
      s.savepointNonce = nonce;
    } else {
      s.pendingOperation = retryLater(c, op, s.deploymentCounter ?? 0, p, p.message);
    }
    setJobCondition(
      s,
      { type: 'SavepointInProgress', status: 'False', reason: p.reason, message: p.message },
      gen,
      c.now,
    );
    return s;
  });
  await deps.events.warning(
    c.job,
    'SavepointFailed',
    `manual savepoint: ${p.reason}: ${p.message}${giveUp ? ' (gave up after 3 attempts)' : ` (retry in ${Math.round(p.delay / 1000)}s)`}`,
  );
  return giveUp ? r.after(c.job) : { requeueAfter: p.delay };
}
