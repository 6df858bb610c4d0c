// The autoscaler's one write to the spec: spec.replicas through the StreamJob's scale subresource, as
// `kubectl scale` or an HPA would write it, under its own field manager so that managedFields say who chose the
// value. The rest of the operator sees a replicas change like any other (spec-diff.ts: a rescale).
import type { KubeClient } from '../../kube/index.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { StreamJobs } from './resource.ts';

export const AUTOSCALER_FIELD_MANAGER = 'tributary-autoscaler';

/**
 * Sets the job's spec.replicas and returns what the apiserver stored. A job gone meanwhile fails with NotFound
 * (KubeApiError), its message naming the job's path; any other failure is the apiserver's, also naming it.
 */
export async function writeReplicas(kube: KubeClient, job: StreamJob, replicas: number): Promise<number> {
  const { namespace, name } = job.metadata;
  const scale = await kube.scale(StreamJobs, namespace, name, replicas, AUTOSCALER_FIELD_MANAGER);
  return scale.spec?.replicas ?? replicas;
}
