// Status conditions in the standard metav1.Condition shape, with apimachinery's
// SetStatusCondition semantics: conditions are keyed by type; `lastTransitionTime` moves
// only when `status` flips; reason, message and observedGeneration are updated in place.
// Functions are pure (they return new arrays), so a status writer can diff before/after.

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  /** RFC 3339, seconds precision (what metav1.Time serializes to). */
  lastTransitionTime: string;
  /** CamelCase, machine-readable. */
  reason: string;
  message: string;
}

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message?: string;
}

/** RFC 3339 at seconds precision, as the API server would round-trip a metav1.Time. */
export function toRfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  generation: number | undefined,
  now: Date = new Date(),
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === input.type);
  const existing = i < 0 ? undefined : list[i];
  const next: Condition = {
    type: input.type,
    status: input.status,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    lastTransitionTime: existing && existing.status === input.status ? existing.lastTransitionTime : toRfc3339(now),
    reason: input.reason,
    message: input.message ?? '',
  };
  if (i < 0) list.push(next);
  else list[i] = next;
  return list;
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

export function isFalse(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'False';
}

/** True if the condition exists, matches `status`, and was observed at `generation`. */
export function isCurrent(
  conditions: readonly Condition[] | undefined,
  type: string,
  status: ConditionStatus,
  generation: number | undefined,
): boolean {
  const c = getCondition(conditions, type);
  return c !== undefined && c.status === status && c.observedGeneration === generation;
}
