// old-pods-gone → starting: the target deployment's RBAC and job config exist, and
// status.deployed names the target, all before the first slot pod is created (so a restarted
// operator never loses track of pods it created).
import { Resources } from '../../../kube/index.ts';
import type { PendingOperation } from '../../../api/v1alpha1/streamjob.ts';
import { ControllerError, ControllerErrorCodes } from '../../errors.ts';
import { loadDruidRefs, resolveDruidRefs } from '../druid-refs.ts';
import { createIgnoringExists } from '../idempotent-writes.ts';
import type { JobCtx, ReconcilerInternals, StepResult } from '../job-context.ts';
import { configMap, jobConfig } from '../objects/job-config.ts';
import { Rbac, runtimeRbac } from '../objects/runtime-rbac.ts';
import { describeIssues } from '../validation.ts';
import { effectiveStateStorage } from '../state-storage.ts';
import { targetOf } from './kinds.ts';
import { deploymentRef } from './restore-point.ts';

export async function recordDeployment(r: ReconcilerInternals, c: JobCtx, op: PendingOperation): StepResult {
  const { kube } = r.deps;
  const { target, spec } = targetOf(op);
  for (const o of runtimeRbac(c.job)) {
    const rt = o.kind === 'ServiceAccount' ? Rbac.ServiceAccount : o.kind === 'Role' ? Rbac.Role : Rbac.RoleBinding;
    await createIgnoringExists(kube, rt, o);
  }
  const ns = c.job.metadata.namespace as string;
  const druid = resolveDruidRefs(spec.graph, await loadDruidRefs(kube, ns, spec.graph), ns);
  if (druid.issues.length > 0)
    throw new ControllerError(
      ControllerErrorCodes.JOB_CONFIG,
      `cannot write the job config: ${describeIssues(druid.issues)}`,
    );
  await createIgnoringExists(
    kube,
    Resources.ConfigMap,
    configMap(
      c.job,
      target,
      jobConfig(
        c.job,
        spec,
        effectiveStateStorage(spec, r.deps.defaults),
        spec.replicas,
        op.restoreFrom,
        druid.graph,
        op.restoreLatestSince,
        {
          deployment: deploymentRef(c.job, target),
          ...(op.restoreLatestLineage ? { restoreLatest: op.restoreLatestLineage } : {}),
        },
      ),
    ),
  );
  await r.record(c, 'starting', (s) => {
    s.deployed = {
      id: target,
      specHash: op.targetSpecHash,
      parallelism: spec.replicas,
      ...(op.restoreFrom ? { restoredFrom: op.restoreFrom } : {}),
      ...(op.restoreLatestSince ? { restoreLatestSince: op.restoreLatestSince } : {}),
      ...(op.restoreLatestSince && op.restoreLatestLineage ? { restoreLatestLineage: op.restoreLatestLineage } : {}),
      startedAt: c.now.toISOString(),
      spec: op.targetSpec!,
    };
    s.pendingOperation = { ...op, step: 'starting' };
    if (op.kind !== 'restart') {
      s.restarts = 0;
      delete s.restartTimes;
      delete s.restartsWithoutCheckpoint;
    }
    delete s.resumeFrom;
    delete s.resumeLatest;
    return s;
  });
  return r.advance(c, c.job.status!.pendingOperation!);
}
