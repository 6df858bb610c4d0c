// Resource descriptors (group/version/plural/kind/scope) and the URL paths they map to.
// The machinery is generic over these; controllers declare the types they use.
import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';

/**
 * Objects as they travel on the wire: plain JSON, timestamps as RFC 3339 strings. The
 * machinery never deserializes into client-node's model classes (whose timestamps are
 * `Date`s), so the informer cache, status comparisons and patches all see one shape.
 */
export interface KubeObject extends Omit<KubernetesObject, 'metadata'> {
  metadata?: Omit<V1ObjectMeta, 'creationTimestamp' | 'deletionTimestamp'> & {
    creationTimestamp?: string | Date;
    deletionTimestamp?: string | Date;
  };
}

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export function apiVersionOf(rt: ResourceType): string {
  return rt.group === '' ? rt.version : `${rt.group}/${rt.version}`;
}

export function resourceId(rt: ResourceType): string {
  return rt.group === '' ? rt.plural : `${rt.plural}.${rt.group}`;
}

export interface PathOptions {
  namespace?: string | undefined;
  name?: string | undefined;
  subresource?: string | undefined;
}

/** `/api/v1/namespaces/ns/pods/name/status` and friends; no namespace = all namespaces. */
export function resourcePath(rt: ResourceType, opts: PathOptions = {}): string {
  const base = rt.group === '' ? `/api/${rt.version}` : `/apis/${rt.group}/${rt.version}`;
  const ns = rt.namespaced && opts.namespace ? `/namespaces/${encodeURIComponent(opts.namespace)}` : '';
  const name = opts.name === undefined ? '' : `/${encodeURIComponent(opts.name)}`;
  const sub = opts.subresource === undefined ? '' : `/${opts.subresource}`;
  return `${base}${ns}/${rt.plural}${name}${sub}`;
}

export const Resources = {
  ConfigMap: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
  Secret: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  ServiceAccount: { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
  Pod: { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  Service: { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true },
  Namespace: { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  Event: { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  Lease: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
  CustomResourceDefinition: {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    plural: 'customresourcedefinitions',
    kind: 'CustomResourceDefinition',
    namespaced: false,
  },
} as const satisfies Record<string, ResourceType>;
