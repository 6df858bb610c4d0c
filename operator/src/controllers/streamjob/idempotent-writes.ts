// Cluster writes that a step may repeat (an operator killed after the write and before its
// status record runs the step again): a create that finds the object there, and a pod delete
// that finds the pod gone or replaced (uid precondition), both count as done.
import type { Logger } from 'pino';
import {
  isAlreadyExists,
  isConflictish,
  isNotFound,
  Resources,
  type KubeClient,
  type KubeObject,
  type ResourceType,
} from '../../kube/index.ts';
import type { Pod } from './objects/slot-pod.ts';

/** True if this call created the object, false if it already existed. */
export async function createIgnoringExists(kube: KubeClient, rt: ResourceType, obj: KubeObject): Promise<boolean> {
  try {
    await kube.create(rt, obj);
    return true;
  } catch (err) {
    if (isAlreadyExists(err)) return false;
    throw err;
  }
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
