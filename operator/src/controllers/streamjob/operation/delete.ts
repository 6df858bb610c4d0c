// Delete (the finalizer path): a final stop-with-savepoint when spec.savepoints.onDelete, then
// the finalizer goes and the garbage collector removes the owned pods, ConfigMaps, Service and
// Secret. The savepoint's path is reported in an Event (the status goes with the object). A
// final savepoint that keeps failing does not block deletion forever: after savepoints.timeout
// (measured from the deletion request) the job is deleted with a Warning naming the latest
// checkpoint that remains.
import { removeFinalizer, hasFinalizer, type ReconcileResult } from '../../../kube/index.ts';
import { setJobCondition } from '../conditions.ts';
import type { JobCtx, ReconcilerInternals } from '../job-context.ts';
import { finalSavepointFinalizer, StreamJobs } from '../resource.ts';
import { savepointRequestId } from './savepoints.ts';
import { durationMs } from '../validation.ts';
import { retryLater, advanceSavepoint } from './advance-savepoint.ts';

export async function finalize(r: ReconcilerInternals, c: JobCtx): Promise<ReconcileResult | void> {
  const { deps } = r;
  if (!hasFinalizer(c.job, finalSavepointFinalizer)) return;
  const st = c.job.status ?? {};
  const op = st.pendingOperation;
  // A Finished job's kept pods run nothing: its final checkpoint is its last state.
  const running = st.deployed !== undefined && c.obs.current.has(0) && st.phase !== 'Failed' && st.phase !== 'Finished';
  const wanted = c.job.spec.savepoints?.onDelete !== false;
  // An upgrade already stopped the job with a savepoint: that is the final state.
  const already = op && op.kind !== 'delete' && op.restoreFrom && op.mode === 'savepoint' ? op.restoreFrom : undefined;

  if (wanted && running && !already) {
    const deletedAt = Date.parse(String(c.job.metadata.deletionTimestamp ?? c.now.toISOString()));
    const giveUpAt = deletedAt + durationMs(c.job.spec.savepoints?.timeout, 5 * 60_000);
    let cur = op?.kind === 'delete' ? op : undefined;
    if (!cur) {
      const counter = st.deploymentCounter ?? 0;
      await r.record(c, 'delete-intent', (s) => {
        s.pendingOperation = {
          kind: 'delete',
          targetSpecHash: s.deployed?.specHash ?? '',
          mode: 'savepoint',
          savepointRequestId: savepointRequestId(c.job, 'delete', counter, 1),
          attempt: 1,
          startedAt: c.now.toISOString(),
          step: 'recorded',
        };
        s.phase = 'Savepointing';
        return s;
      });
      cur = c.job.status!.pendingOperation!;
    }
    if (cur.notBefore && Date.parse(cur.notBefore) > c.now.getTime())
      return { requeueAfter: Date.parse(cur.notBefore) - c.now.getTime() };
    const p = await advanceSavepoint(r, c, cur, {
      stop: true,
      metricReason: 'delete',
      triggered: { write: 'delete-savepoint-triggered', event: (id) => `final stop-with-savepoint ${id}` },
    });
    if (p.state === 'waiting') return p.result;
    if (p.state === 'completed') {
      await deps.events.normal(
        c.job,
        'FinalSavepoint',
        `final savepoint ${p.id} at ${p.path}; restore it with spec.restore.savepointPath`,
      );
      c.log.info({ path: p.path }, 'final savepoint taken');
    } else if (c.now.getTime() < giveUpAt) {
      const failing = cur;
      await r.record(c, 'delete-savepoint-failed', (s) => {
        s.pendingOperation = retryLater(c, failing, s.deploymentCounter ?? 0, p, p.message);
        setJobCondition(
          s,
          {
            type: 'Degraded',
            status: 'True',
            reason: p.reason,
            message: `final savepoint failed, retrying: ${p.message}`,
          },
          c.job.metadata.generation,
          c.now,
        );
        return s;
      });
      await deps.events.warning(
        c.job,
        'SavepointFailed',
        `final savepoint: ${p.reason}: ${p.message} (retry in ${Math.round(p.delay / 1000)}s)`,
      );
      return { requeueAfter: p.delay };
    } else {
      await deps.events.warning(
        c.job,
        'FinalSavepointFailed',
        `no final savepoint (${p.message}); deleting anyway after savepoints.timeout; latest checkpoint: ${st.lastCheckpoint?.path ?? 'none'}`,
      );
    }
  } else if (already) {
    await deps.events.normal(
      c.job,
      'FinalSavepoint',
      `final savepoint at ${already} (taken by the interrupted ${op?.kind})`,
    );
  } else {
    await deps.events.normal(
      c.job,
      'Deleting',
      wanted ? 'no running deployment: nothing to savepoint' : 'savepoints.onDelete is false: no final savepoint',
    );
  }
  deps.metrics.forget(`${c.job.metadata.namespace}/${c.job.metadata.name}`);
  await removeFinalizer(deps.kube, StreamJobs, c.job, finalSavepointFinalizer);
}
