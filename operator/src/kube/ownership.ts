// Controller ownerReferences, the standard labels on owned objects, and the mapping from an
// owned object back to its owner's work-queue key. Owned objects die with their owner via
// the garbage collector; finalizers are only for cleanup outside the cluster.
import { ErrorCodes, OperatorError } from './errors.ts';
import { keyFor } from './keys.ts';
import type { KubeObject } from './api-resources.ts';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export const Labels = {
  managedBy: 'app.kubernetes.io/managed-by',
  job: 'tributary.dev/job',
  slot: 'tributary.dev/slot',
} as const;

export const MANAGED_BY = 'tributary';

/** `app.kubernetes.io/managed-by: tributary`, `tributary.dev/job`, and `tributary.dev/slot` if given. */
export function standardLabels(job: string, slot?: number): Record<string, string> {
  const labels: Record<string, string> = { [Labels.managedBy]: MANAGED_BY, [Labels.job]: job };
  if (slot !== undefined) labels[Labels.slot] = String(slot);
  return labels;
}

/** A label selector string for everything managed for one job. */
export function jobSelector(job: string): string {
  return `${Labels.managedBy}=${MANAGED_BY},${Labels.job}=${job}`;
}

export function controllerReference(owner: KubeObject): OwnerReference {
  const { apiVersion, kind } = owner;
  const name = owner.metadata?.name;
  const uid = owner.metadata?.uid;
  if (!apiVersion || !kind || !name || !uid) {
    throw new OperatorError(
      ErrorCodes.INVALID_OWNER,
      'owner needs apiVersion, kind, metadata.name and metadata.uid to be referenced',
    );
  }
  return { apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true };
}

export function getControllerOf(obj: KubeObject): OwnerReference | undefined {
  return (obj.metadata?.ownerReferences as OwnerReference[] | undefined)?.find((r) => r.controller === true);
}

/**
 * Returns `obj` with `owner` as its controller reference (a copy of metadata; other owner
 * references are kept). Throws OPERATOR_ALREADY_OWNED if another object controls it.
 */
export function withControllerReference<T extends KubeObject>(owner: KubeObject, obj: T): T {
  const ref = controllerReference(owner);
  const existing = getControllerOf(obj);
  if (existing && existing.uid !== ref.uid) {
    throw new OperatorError(
      ErrorCodes.ALREADY_OWNED,
      `${obj.kind ?? 'object'} ${obj.metadata?.name ?? ''} is already controlled by ${existing.kind} ${existing.name}`,
    );
  }
  const others = ((obj.metadata?.ownerReferences ?? []) as OwnerReference[]).filter((r) => r.uid !== ref.uid);
  return { ...obj, metadata: { ...obj.metadata, ownerReferences: [...others, ref] } };
}

export function isControlledBy(obj: KubeObject, owner: KubeObject): boolean {
  const ref = getControllerOf(obj);
  return ref !== undefined && ref.uid === owner.metadata?.uid;
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * A map function for Controller.watches: an owned object → the key of its controller owner
 * if that owner is of `kind` in API `group` (owners are always in the owned object's
 * namespace). Objects without such an owner map to nothing.
 */
export function ownerKeyMapper(group: string, kind: string): (obj: KubeObject) => string[] {
  return (obj) => {
    const ref = getControllerOf(obj);
    if (!ref || ref.kind !== kind || groupOf(ref.apiVersion) !== group) return [];
    return [keyFor(obj.metadata?.namespace, ref.name)];
  };
}

/** A map function by label: objects labelled `tributary.dev/job=<name>` → that job's key. */
export function jobLabelMapper(obj: KubeObject): string[] {
  const job = obj.metadata?.labels?.[Labels.job];
  return job ? [keyFor(obj.metadata?.namespace, job)] : [];
}
