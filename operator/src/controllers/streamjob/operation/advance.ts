// The pending operation, advanced one write-ahead step at a time.
//
// Status is the write-ahead log. Every operation that replaces or removes pods is first
// written as `status.pendingOperation` (kind, target spec + hash, target deployment id,
// where state comes from, the savepoint request id); each step below re-derives what to do
// from that record plus the observed pods, so a step run twice (an operator killed and
// restarted anywhere) is harmless:
//
//   recorded ──(savepoint: trigger with requestId → poll)──▶ state-ready (restoreFrom known,
//   recorded in status before any pod is deleted) ──(delete every pod not of the target
//   deployment; wait until gone)──▶ starting (status.deployed = target, written before the
//   first create; pods named <job>-<deploymentId>-<slot>, AlreadyExists = fine) ──(all
//   slots ready + slot 0 says RUNNING)──▶ done (pendingOperation removed, phase Running).
//
// A savepoint that fails leaves the old pods alone (nothing destructive happened yet):
// Degraded with the reason, retry with backoff, or fall back to a young checkpoint when
// onFailure says so. Before state-ready an operation may be re-planned if the spec changed.
//
// Each step has the same shape: observe (the reconcile's one observation), validate (is this
// step's work still to do?), record the step's intent, act, record the step as done; then
// the operation advances to its next step within the same reconcile when nothing is left to
// wait for. Operations by kind:
//   deploy, resume (a deploy restoring status.resumeFrom), rescale, upgrade, restart:
//     start.ts → prepare-state.ts (stop-with-savepoint.ts) → stop-old-pods.ts →
//     record-deployment.ts → run-deployment.ts; restart.ts starts restarts, after backoff.
//   suspend: start.ts → prepare-state.ts → stop-old-pods.ts → finish-suspend.ts.
//   savepoint (savepointNonce): manual-savepoint.ts; the old pods keep running.
//   delete: delete.ts, from the finalizer path only.
import type { PendingOperation } from '../../../api/v1alpha1/streamjob.ts';
import type { JobCtx, ReconcilerInternals, StepResult } from '../job-context.ts';
import { finishSuspend } from './finish-suspend.ts';
import { manualSavepoint } from './manual-savepoint.ts';
import { prepareState } from './prepare-state.ts';
import { recordDeployment } from './record-deployment.ts';
import { runDeployment } from './run-deployment.ts';
import { stopOldPods } from './stop-old-pods.ts';

/** Steps before state-ready: nothing destructive has happened yet. */
const PREPARING = new Set(['recorded', 'savepoint-triggered', 'savepoint-failed']);

export async function advance(r: ReconcilerInternals, c: JobCtx, op: PendingOperation): StepResult {
  if (op.kind === 'savepoint') return manualSavepoint(r, c, op);
  if (op.kind === 'delete') return r.after(c.job); // only the finalizer path drives it
  if (op.step !== undefined && PREPARING.has(op.step)) return prepareState(r, c, op);
  if (op.step === 'state-ready') return stopOldPods(r, c, op);
  if (op.kind === 'suspend') return finishSuspend(r, c, op);
  if (op.notBefore && op.kind === 'restart' && Date.parse(op.notBefore) > c.now.getTime()) {
    return { requeueAfter: Date.parse(op.notBefore) - c.now.getTime() };
  }
  if (op.step === 'old-pods-gone') return recordDeployment(r, c, op);
  return runDeployment(r, c, op);
}
