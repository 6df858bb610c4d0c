// The autoscaler's one write to the spec: spec.replicas through the StreamJob's scale subresource, as
// `kubectl scale` or an HPA would write it, under its own field manager so that managedFields say who chose the
// value. The rest of the operator sees a replicas change like any other (spec/diff.ts: a rescale).
// The write is conditional on the resourceVersion the decision was made from, as an HPA's is: a `kubectl scale`
// (or any other change) between the read and the write fails it with 409 Conflict rather than being overwritten
// by a value decided for replicas that no longer hold (autoscale.ts re-reads and decides again).
import type { KubeClient } from '../../../kube/index.ts';
import type { StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import { StreamJobs } from '../resource.ts';

export const AUTOSCALER_FIELD_MANAGER = 'tributary-autoscaler';

/**
 * Sets the job's spec.replicas, if the job is still at `job.metadata.resourceVersion`, and returns what the
 * apiserver stored. A job changed since fails with Conflict (KubeApiError 409, `isConflict`); a job gone
 * meanwhile with NotFound, its message naming the job's path; any other failure is the apiserver's, also naming it.
 */
export async function writeReplicas(kube: KubeClient, job: StreamJob, replicas: number): Promise<number> {
  const { namespace, name, resourceVersion } = job.metadata;
  const scale = await kube.scale(StreamJobs, namespace, name, replicas, AUTOSCALER_FIELD_MANAGER, resourceVersion);
  return scale.spec?.replicas ?? replicas;
}
