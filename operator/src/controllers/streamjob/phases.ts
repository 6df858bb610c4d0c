// Requeue cadence per phase: poll fast while an operation moves, slowly while running
// (checkpoint progress and runtime health), never while suspended, finished, failed or invalid (events
// wake us: a spec change).
import type { Phase } from '../../api/v1alpha1/streamjob.ts';

export interface Cadence {
  /** While an operation is pending. */
  operationMs: number;
  /** While Running and healthy. */
  runningMs: number;
  /** Orphan savepoint sweep of a Running job with no operation pending (also after each recorded savepoint). */
  orphanSweepMs?: number;
}

export const defaultCadence: Cadence = { operationMs: 1_000, runningMs: 15_000, orphanSweepMs: 10 * 60_000 };

export function requeueFor(
  phase: Phase | undefined,
  pending: boolean,
  c: Cadence = defaultCadence,
): number | undefined {
  if (pending) return c.operationMs;
  switch (phase) {
    case 'Running':
      return c.runningMs;
    case 'Suspended':
    case 'Finished':
    case 'Failed':
    case 'Invalid':
      return undefined;
    default:
      return c.operationMs;
  }
}

/** Exponential backoff from `initialMs` doubling per attempt (attempt 1 = initial), capped. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
}
