// Every status write of the StreamJob reconciler, by name. `record(c, name, …)` takes only
// these; the name is what the write's debug log and the fault-kill hook see (a kill point,
// fault-kill.ts, names one). Which of them move a pending operation to which step, hold it at
// one, or end it is operation/advance.ts's table (STEPS, ENDED_BY); a unit test checks that
// every write of OPERATION_WRITES is placed there, and no other.

/** Writes of the write-ahead operation (operation/): each records a step, is made at one, or ends the operation. */
export const OPERATION_WRITES = [
  // Writes that record a step or are made at one.
  'intent',
  'delete-intent',
  'savepoint-triggered',
  'delete-savepoint-triggered',
  'savepoint-failed',
  'delete-savepoint-failed',
  'no-state-to-restore',
  'late-savepoints',
  'state-ready',
  'retiring',
  'retired-slot0-alive',
  'old-pods-gone',
  'starting',
  'waiting',
  // A live rescale (operation/live-rescale.ts): slot 0 accepted it, its progress, it completed.
  'live-requested',
  'live-progress',
  'live-completed',
  // Writes that end an operation (status.pendingOperation removed).
  'done',
  'suspended',
  'finished',
  'failed',
  'savepoint-done',
  'replan',
  // A live rescale done (the deployment recorded at its new parallelism), or failed (the restart path takes over).
  'live-done',
  'live-failed',
] as const;

/**
 * Writes outside any operation's steps: the observation, the phase, foreign objects, the periodic schedule, the
 * autoscaler.
 */
export const OTHER_WRITES = [
  'observe',
  'running',
  'not-owned',
  'owned',
  'periodic-savepoint-off',
  'periodic-savepoint-scheduled',
  // status.autoscaler: a decision, a wait, or refreshed inputs (autoscaler/autoscale.ts).
  'autoscaler',
] as const;

export const STATUS_WRITES = [...OPERATION_WRITES, ...OTHER_WRITES] as const;

/** The name of one status write of the StreamJob reconciler. */
export type StatusWrite = (typeof STATUS_WRITES)[number];

const known: ReadonlySet<string> = new Set(STATUS_WRITES);

export function isStatusWrite(name: string): name is StatusWrite {
  return known.has(name);
}
