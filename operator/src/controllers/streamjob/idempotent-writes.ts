// Cluster writes that a step may repeat (an operator killed after the write and before its
// status record runs the step again): a create that finds the object there, and a pod delete
// that finds the pod gone or replaced (uid precondition), both count as done. A create that
// finds an object someone else made is not done: the operator never adopts an object it did
// not create (a planted Role, ServiceAccount, ConfigMap or token Secret would otherwise be
// used as the job's own), so the existing object must carry the same controller reference.
import type { Logger } from 'pino';
import {
  ErrorCodes,
  getControllerOf,
  isAlreadyExists,
  isConflictish,
  isNotFound,
  OperatorError,
  Resources,
  type KubeClient,
  type KubeObject,
  type ResourceType,
} from '../../kube/index.ts';
import type { Pod } from './objects/slot-pod.ts';

/**
 * True if this call created the object, false if it already existed and is controlled by the
 * same owner as `obj`. Throws OPERATOR_NOT_OWNED, naming the object, if it exists otherwise.
 */
export async function createIgnoringExists(kube: KubeClient, rt: ResourceType, obj: KubeObject): Promise<boolean> {
  try {
    await kube.create(rt, obj);
    return true;
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  const existing = await kube.get(rt, obj.metadata?.namespace, obj.metadata?.name ?? '');
  assertSameController(existing, obj, rt.kind);
  return false;
}

/** Throws OPERATOR_NOT_OWNED unless `existing` has the controller reference `desired` carries. */
export function assertSameController(existing: KubeObject, desired: KubeObject, kind: string): void {
  const want = getControllerOf(desired);
  const have = getControllerOf(existing);
  if (want && have?.uid === want.uid) return;
  const by = have ? `is controlled by ${have.kind} ${have.name}` : 'has no controller';
  throw new OperatorError(
    ErrorCodes.NOT_OWNED,
    `${kind} ${existing.metadata?.namespace}/${existing.metadata?.name} exists and ${by}, not ${want?.kind ?? 'this'} ` +
      `${want?.name ?? ''}: the operator does not adopt objects it did not create; delete or rename it`,
  );
}

/** Deletes each pod (the very pod observed: uid precondition) unless it is already going. */
export async function deletePods(kube: KubeClient, log: Logger, pods: readonly Pod[]): Promise<void> {
  for (const p of pods) {
    if (p.metadata?.deletionTimestamp) continue;
    try {
      await kube.delete(Resources.Pod, p.metadata?.namespace, p.metadata?.name ?? '', {
        preconditions: { uid: p.metadata?.uid ?? '' },
      });
    } catch (err) {
      if (!isNotFound(err) && !isConflictish(err)) throw err;
    }
  }
  log.info({ pods: pods.map((p) => p.metadata?.name) }, 'old pods deleted');
}
