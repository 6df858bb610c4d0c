// What every object a StreamJob owns shares: the standard labels, the deployment label that
// keeps old and new pods apart, and the label selector of a job's (or one deployment's) pods.
import { Labels, standardLabels } from '../../../kube/index.ts';
import type { StreamJob } from '../../../api/v1alpha1/streamjob.ts';

/** Label carrying the deployment id: old and new pods never mix. */
export const DEPLOYMENT_LABEL = 'tributary.dev/deployment';

/** The pods of a job, or of one of its deployments. */
export function podSelector(job: string, depId?: string): string {
  const base = `${Labels.managedBy}=tributary,${Labels.job}=${job}`;
  return depId === undefined ? base : `${base},${DEPLOYMENT_LABEL}=${depId}`;
}

/** Name, namespace and the standard labels (plus `extra`) of an object the job owns. */
export function ownedMeta(job: StreamJob, name: string, extra: Record<string, string> = {}) {
  return { name, namespace: job.metadata.namespace, labels: { ...standardLabels(job.metadata.name), ...extra } };
}
