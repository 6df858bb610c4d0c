// What the slot pods run as: a ServiceAccount (unless the pod template names one), and a Role
// and RoleBinding that let them get/list/watch pods (peer discovery). Pure builders.
import { withControllerReference, type KubeObject, type ResourceType } from '../../../kube/index.ts';
import type { StreamJob } from '../../../api/v1alpha1/streamjob.ts';
import { ownedMeta } from './metadata.ts';

export const Rbac = {
  ServiceAccount: { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
  Role: { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'roles', kind: 'Role', namespaced: true },
  RoleBinding: {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    plural: 'rolebindings',
    kind: 'RoleBinding',
    namespaced: true,
  },
} as const satisfies Record<string, ResourceType>;

export function serviceAccountName(job: StreamJob): string {
  return job.spec.podTemplate?.serviceAccountName || `${job.metadata.name}-runtime`;
}

/** ServiceAccount, Role (pods get/list/watch: peer discovery) and RoleBinding for the slot pods. */
export function runtimeRbac(job: StreamJob): KubeObject[] {
  const name = `${job.metadata.name}-runtime`;
  const sa = withControllerReference(job, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: ownedMeta(job, name) });
  const role = withControllerReference(job, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: ownedMeta(job, name),
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
  } as KubeObject);
  const binding = withControllerReference(job, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: ownedMeta(job, name),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccountName(job), namespace: job.metadata.namespace }],
  } as KubeObject);
  return job.spec.podTemplate?.serviceAccountName ? [role, binding] : [sa, role, binding];
}
