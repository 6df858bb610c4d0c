// state-ready → old-pods-gone: with the state recorded, every pod that is not of the target
// deployment is deleted, and the step waits until they are gone (old and new pods never run
// side by side: they would write the same outputs).
import type { PendingOperation } from '../../../api/v1alpha1/streamjob.ts';
import { deletePods } from '../idempotent-writes.ts';
import type { JobCtx, ReconcilerInternals, StepResult } from '../job-context.ts';
import { DEPLOYMENT_LABEL } from '../objects/metadata.ts';

export async function stopOldPods(r: ReconcilerInternals, c: JobCtx, op: PendingOperation): StepResult {
  const target = op.targetDeploymentId;
  const old = c.obs.pods.filter((p) => p.metadata?.labels?.[DEPLOYMENT_LABEL] !== target);
  if (old.length > 0) {
    await deletePods(r.deps.kube, c.log, old);
    return { requeueAfter: 300 };
  }
  await r.record(c, 'old-pods-gone', (s) => {
    s.pendingOperation = { ...op, step: 'old-pods-gone' };
    if (op.kind !== 'suspend')
      s.phase = op.kind === 'restart' ? 'Restarting' : op.kind === 'deploy' ? 'Deploying' : 'Upgrading';
    return s;
  });
  return r.advance(c, c.job.status!.pendingOperation!);
}
