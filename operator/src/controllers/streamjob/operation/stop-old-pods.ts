// state-ready → old-pods-gone: with the state recorded, every pod that is not of the target
// deployment is deleted, and the step waits until they are gone (old and new pods never run
// side by side: they would write the same outputs).
//
// "Gone" is the pod objects gone, which the kubelet makes so only after their processes
// exited — unless a pod was force-deleted (or its node lost and the object removed): then a
// slot 0 may live on, complete a checkpoint and commit its transactions after the new pods
// chose the newest checkpoint to restore (restoreLatest), and before their sinks fence its
// transactional ids (a sink fences when it opens, after the restore). So the replaced
// deployment's slot 0 address is recorded before anything is deleted (retiredSlot0), and the
// step also waits until nothing answers there for that deployment. A slot 0 cut off from the
// operator but not from the storage and Kafka is not detected.
import type { PendingOperation } from '../../../api/v1alpha1/streamjob.ts';
import { RuntimeClient } from '../../../runtime-client/client.ts';
import { deletePods } from '../idempotent-writes.ts';
import type { JobCtx, ReconcilerInternals, StepResult } from '../job-context.ts';
import { DEPLOYMENT_LABEL } from '../objects/metadata.ts';
import { PHASE_OF } from './kinds.ts';

/** How soon a retired slot 0 that still answers is asked again (ms). */
export const RETIRED_POLL_MS = 1_000;
/** How long the retired slot 0 is given to answer (ms). */
export const RETIRED_ASK_MS = 1_000;

export async function stopOldPods(r: ReconcilerInternals, c: JobCtx, op: PendingOperation): StepResult {
  const target = op.targetDeploymentId;
  const old = c.obs.pods.filter((p) => p.metadata?.labels?.[DEPLOYMENT_LABEL] !== target);
  if (old.length > 0) {
    const slot0 = c.obs.current.get(0);
    const ip = slot0?.status?.podIP;
    const dep = c.obs.deploymentId;
    if (!op.retiredSlot0 && ip && dep && dep !== target && old.includes(slot0)) {
      await r.record(c, 'retiring', (s) => {
        if (s.pendingOperation) s.pendingOperation.retiredSlot0 = { deploymentId: dep, podIP: ip };
        return s;
      });
    }
    await deletePods(r.deps.kube, c.log, old);
    return { requeueAfter: 300 };
  }
  const alive = await retiredStillAnswers(r, c, op);
  if (alive) {
    const why = `slot 0 of replaced deployment ${op.retiredSlot0!.deploymentId} still answers at ${op.retiredSlot0!.podIP} though its pod is gone from the API (force-deleted?): the new pods wait until it stops, so it cannot commit after they restore`;
    c.log.warn({ retired: op.retiredSlot0 }, why);
    if (op.message !== why) {
      await r.record(c, 'retired-slot0-alive', (s) => {
        if (s.pendingOperation) s.pendingOperation.message = why;
        return s;
      });
      await r.deps.events.warning(c.job, 'ReplacedSlotAlive', why);
    }
    return { requeueAfter: RETIRED_POLL_MS };
  }
  await r.record(c, 'old-pods-gone', (s) => {
    s.pendingOperation = { ...op, step: 'old-pods-gone' };
    delete s.pendingOperation.retiredSlot0;
    if (op.message?.startsWith('slot 0 of replaced deployment')) delete s.pendingOperation.message;
    if (op.kind !== 'suspend') s.phase = PHASE_OF[op.kind];
    return s;
  });
  return r.advance(c, c.job.status!.pendingOperation!);
}

/**
 * Whether the recorded slot 0 of the replaced deployment still answers for it. No answer within
 * RETIRED_ASK_MS, or an error (refused, another pod now at that IP): it does not — the usual case,
 * its process exited before its pod object went, and on a network that drops packets to a freed
 * IP the wait costs the operation at most that long.
 */
async function retiredStillAnswers(r: ReconcilerInternals, c: JobCtx, op: PendingOperation): Promise<boolean> {
  const retired = op.retiredSlot0;
  if (!retired || !c.obs.token) return false;
  let timer: NodeJS.Timeout | undefined;
  const silent = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), RETIRED_ASK_MS)));
  const asked = r.deps.runtime.status(RuntimeClient.baseUrl(retired.podIP), c.obs.token).then(
    (st) => st.deploymentId === retired.deploymentId,
    (err: unknown) => {
      c.log.debug({ err, retired }, 'replaced slot 0 does not answer');
      return false;
    },
  );
  return Promise.race([asked, silent]).finally(() => clearTimeout(timer));
}
