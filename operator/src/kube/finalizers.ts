// Adding and removing finalizers. Only for cleanup outside the cluster (a final savepoint, a
// Druid supervisor); owned objects are cleaned up by ownerReferences.
//
// The write is a merge patch of the whole finalizers list carrying the resourceVersion it
// was computed from, so it cannot drop a finalizer someone else added in between (409 →
// re-read → recompute, bounded). Both operations are idempotent: they skip the write when
// the list already has (or lacks) the finalizer.
import type { KubeClient } from './client.ts';
import { PatchTypes } from './client.ts';
import { ErrorCodes, OperatorError, isConflict, isNotFound } from './errors.ts';
import type { KubeObject, ResourceType } from './api-resources.ts';

const MAX_RETRIES = 5;

export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

export function isBeingDeleted(obj: KubeObject): boolean {
  return obj.metadata?.deletionTimestamp !== undefined && obj.metadata?.deletionTimestamp !== null;
}

/** Returns the object with the finalizer (as written, or unchanged if already there). */
export function addFinalizer<T extends KubeObject>(
  client: KubeClient,
  rt: ResourceType,
  obj: T,
  finalizer: string,
): Promise<T> {
  return editFinalizers(client, rt, obj, (list) => (list.includes(finalizer) ? undefined : [...list, finalizer]));
}

/**
 * Returns the object without the finalizer, or `undefined` if removing it let the API
 * server delete the object (or it was already gone).
 */
export async function removeFinalizer<T extends KubeObject>(
  client: KubeClient,
  rt: ResourceType,
  obj: T,
  finalizer: string,
): Promise<T | undefined> {
  try {
    const out = await editFinalizers(client, rt, obj, (list) =>
      list.includes(finalizer) ? list.filter((f) => f !== finalizer) : undefined,
    );
    return out;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function editFinalizers<T extends KubeObject>(
  client: KubeClient,
  rt: ResourceType,
  obj: T,
  edit: (list: string[]) => string[] | undefined,
): Promise<T> {
  let current = obj;
  for (let attempt = 0; ; attempt++) {
    const next = edit(current.metadata?.finalizers ?? []);
    if (next === undefined) return current;
    const patch = { metadata: { resourceVersion: current.metadata?.resourceVersion, finalizers: next } };
    try {
      return await client.patch<T>(rt, current.metadata?.namespace, current.metadata?.name ?? '', patch, {
        type: PatchTypes.merge,
      });
    } catch (err) {
      if (!isConflict(err)) throw err;
      if (attempt >= MAX_RETRIES) {
        throw new OperatorError(
          ErrorCodes.FINALIZER_CONFLICT,
          `finalizers of ${rt.kind} ${current.metadata?.name ?? ''}: still conflicting`,
          { cause: err },
        );
      }
      current = await client.get<T>(rt, current.metadata?.namespace, current.metadata?.name ?? '');
    }
  }
}
