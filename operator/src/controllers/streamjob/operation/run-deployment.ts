// starting → done: create whatever slot pod of the target deployment is missing (pods are
// named <job>-<deploymentId>-<slot>, so a repeated create is AlreadyExists, never a second
// pod), then wait until every slot is ready and slot 0 reports RUNNING for this deployment.
// A slot of the new deployment that fails starts a restart; when every slot finished (a
// bounded job that reached the end of its input first) the job is Finished (finished.ts).
import type { PendingOperation } from '../../../api/v1alpha1/streamjob.ts';
import { Resources } from '../../../kube/index.ts';
import { degradedByOperation, operationName, runningMessage, setJobCondition } from '../conditions.ts';
import { createIgnoringExists } from '../idempotent-writes.ts';
import type { JobCtx, ReconcilerInternals, StepResult } from '../job-context.ts';
import { DEPLOYMENT_LABEL } from '../objects/metadata.ts';
import { finishedTermination, isPodReady, isPodTerminal, slotOf, slotPod } from '../objects/slot-pod.ts';
import { endedSuffix, settlingMs } from '../slot-failure.ts';
import { effectiveStateStorage } from '../state-storage.ts';
import { recordFinished } from './finished.ts';
import { describeOp, targetOf } from './kinds.ts';
import { startRestart } from './restart.ts';
import { recordRescaleDone } from './rescale-history.ts';

export async function runDeployment(r: ReconcilerInternals, c: JobCtx, op: PendingOperation): StepResult {
  const { deps } = r;
  const gen = () => c.job.metadata.generation;
  const { target, spec } = targetOf(op);
  const mine = c.obs.pods.filter((p) => p.metadata?.labels?.[DEPLOYMENT_LABEL] === target);
  const have = new Map(mine.map((p) => [slotOf(p), p]));
  const image = spec.image || deps.defaults.image;
  const storage = effectiveStateStorage(spec, deps.defaults);
  let created = 0;
  for (let slot = 0; slot < spec.replicas; slot++) {
    if (have.has(slot)) continue;
    const pod = slotPod({ job: c.job, spec, storage, depId: target, slot, parallelism: spec.replicas, image });
    if (deps.containerArgs) (pod.spec!.containers as Record<string, unknown>[])[0]!.args = [...deps.containerArgs];
    if (await createIgnoringExists(deps.kube, Resources.Pod, pod)) created++;
  }
  if (created > 0) {
    c.log.info({ deployment: target, created }, 'slot pods created');
    const restoring = op.restoreLatestSince
      ? `the newest checkpoint since ${op.restoreLatestSince} (else ${op.restoreFrom ?? 'empty state'})`
      : (op.restoreFrom ?? 'nothing (empty state)');
    await deps.events.normal(
      c.job,
      'PodsCreated',
      `deployment ${target}: ${created} slot pod(s) created, restoring ${restoring}`,
    );
    return { requeueAfter: 300 };
  }

  // A bounded job may reach the end of its input before it was ever seen running.
  if (c.obs.deploymentId === target && c.obs.finished) return recordFinished(r, c, op);
  const failed = mine.filter((p) => isPodTerminal(p) && !finishedTermination(p) && slotOf(p) < spec.replicas);
  if (failed.length > 0) {
    const settling = settlingMs(have, spec.replicas, c.now);
    if (settling > 0) return { requeueAfter: settling };
    const why = `slot(s) ${failed.map(slotOf).join(',')} of new deployment ${target} failed${endedSuffix(have)}`;
    return startRestart(r, c, why);
  }
  const ready = mine.filter((p) => isPodReady(p) && slotOf(p) < spec.replicas).length;
  const rt = c.obs.deploymentId === target ? c.obs.runtime : undefined;
  if (ready < spec.replicas || rt?.state !== 'RUNNING') {
    await r.record(c, 'waiting', (s) => ({ ...s, readyReplicas: ready }));
    return { requeueAfter: 300 };
  }
  const downtime = op.stoppedAt ? (c.now.getTime() - Date.parse(op.stoppedAt)) / 1000 : undefined;
  await r.record(c, 'done', (s) => {
    delete s.pendingOperation;
    recordRescaleDone(s, target, c.now);
    // What the pods restored (they resolve restoreLatest themselves); later restarts fall back to it.
    if (s.deployed && rt.restoredFrom) s.deployed.restoredFrom = rt.restoredFrom;
    s.phase = 'Running';
    s.readyReplicas = ready;
    setJobCondition(
      s,
      {
        type: 'Ready',
        status: 'True',
        reason: 'Running',
        message: runningMessage(s, spec.replicas, target),
      },
      gen(),
      c.now,
    );
    setJobCondition(
      s,
      { type: 'Progressing', status: 'False', reason: `${operationName(op.kind)}Completed`, message: describeOp(op) },
      gen(),
      c.now,
    );
    if (degradedByOperation(s)) {
      setJobCondition(
        s,
        { type: 'Degraded', status: 'False', reason: 'Recovered', message: `deployment ${target} running` },
        gen(),
        c.now,
      );
      delete s.lastError;
    }
    return s;
  });
  deps.metrics.operations.inc({ kind: op.kind, result: 'completed' });
  if (downtime !== undefined && op.kind !== 'deploy') deps.metrics.rescaleDowntime.observe({ kind: op.kind }, downtime);
  c.log.info({ kind: op.kind, deployment: target, downtimeSeconds: downtime }, 'operation completed');
  await deps.events.normal(
    c.job,
    'Running',
    `deployment ${target} running with ${spec.replicas} slot(s) after ${op.kind}${downtime !== undefined && op.kind !== 'deploy' ? ` (processing stopped for ${downtime.toFixed(2)}s)` : ''}`,
  );
  return r.after(c.job);
}
