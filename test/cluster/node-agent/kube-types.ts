// The agent talks to the API with plain JSON (no client-node ObjectSerializer), so timestamps
// are RFC 3339 strings, not `Date`s. `Json<T>` maps the generated model types accordingly,
// which keeps the field names checked by the compiler without lying about value types.
import type {
  V1ConfigMap,
  V1Container,
  V1ContainerStatus,
  V1Lease,
  V1Node,
  V1Pod,
  V1PodCondition,
  V1PodStatus,
  V1Probe,
  V1Secret,
  V1Service,
  V1Volume,
} from '@kubernetes/client-node';

export type Json<T> = T extends Date
  ? string
  : T extends (infer U)[]
    ? Json<U>[]
    : T extends object
      ? { [K in keyof T]: Json<T[K]> }
      : T;

export type Pod = Json<V1Pod>;
export type PodStatus = Json<V1PodStatus>;
export type PodCondition = Json<V1PodCondition>;
export type Container = Json<V1Container>;
export type ContainerStatus = Json<V1ContainerStatus>;
export type Probe = Json<V1Probe>;
export type Volume = Json<V1Volume>;
export type ConfigMap = Json<V1ConfigMap>;
export type Secret = Json<V1Secret>;
export type Service = Json<V1Service>;
export type Node = Json<V1Node>;
export type Lease = Json<V1Lease>;

/** `namespace/name`, the key pods are tracked by (uid changes when a pod is re-created). */
export function podKey(pod: Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}
