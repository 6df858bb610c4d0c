// Update predicates for Controller `forUpdatePredicate` / `WatchSource.updatePredicate`.
// They decide whether an update event is worth a reconcile; a false negative is a missed
// change, so they only drop updates that provably change nothing a reconcile reads.
import { deepEqualJson } from './json.ts';
import type { KubeObject } from './api-resources.ts';

/**
 * True unless the update only touched `status` (or nothing but resourceVersion /
 * managedFields): spec changes bump `generation`; labels, annotations, finalizers,
 * ownerReferences and deletionTimestamp are compared. Use it on a primary whose status is
 * written by the controller itself, so its own writes do not echo back as reconciles.
 */
export function specOrMetadataChanged<T extends KubeObject>(oldObj: T, newObj: T): boolean {
  const o = oldObj.metadata ?? {};
  const n = newObj.metadata ?? {};
  // Resources without generation tracking (generation absent) get no filtering.
  if (o.generation === undefined || n.generation === undefined || o.generation !== n.generation) return true;
  return (
    !deepEqualJson(o.labels, n.labels) ||
    !deepEqualJson(o.annotations, n.annotations) ||
    !deepEqualJson(o.finalizers, n.finalizers) ||
    !deepEqualJson(o.ownerReferences, n.ownerReferences) ||
    o.deletionTimestamp !== n.deletionTimestamp
  );
}

/** True if the update changed anything besides `metadata.resourceVersion`/`managedFields`. */
export function anythingChanged<T extends KubeObject>(oldObj: T, newObj: T): boolean {
  const strip = (x: KubeObject) => ({
    ...x,
    metadata: { ...x.metadata, resourceVersion: undefined, managedFields: undefined },
  });
  return !deepEqualJson(strip(oldObj), strip(newObj));
}
