// Whether a job that keeps failing makes progress: a restart whose failed deployment completed
// no checkpoint (status.lastCheckpoint, as observed from slot 0, is older than the deployment's
// start) replays from the same state as the one before it. After NO_PROGRESS_AFTER such restarts
// in a row the restart says so: Degraded reason NoCheckpointProgress and a Warning event of that
// reason (docs/runtime/distributed.md, "Restarts"). The observation can miss a checkpoint that
// completed just before the failure (the operator polls slot 0): the count errs towards
// reporting, never towards silence.
import type { StreamJobStatus } from '../../../api/v1alpha1/streamjob.ts';

export const NO_PROGRESS_AFTER = 3;

/** The deployment that just failed completed no checkpoint (as far as the operator saw). */
export function failedWithoutCheckpoint(st: StreamJobStatus): boolean {
  const started = Date.parse(st.deployed?.startedAt ?? '');
  const completed = Date.parse(st.lastCheckpoint?.completedAt ?? '');
  if (Number.isNaN(started)) return false;
  return Number.isNaN(completed) || completed < started;
}

/** status.restartsWithoutCheckpoint after this restart: one more when the failed deployment completed none, else 0. */
export function restartsWithoutCheckpoint(st: StreamJobStatus): number {
  return failedWithoutCheckpoint(st) ? (st.restartsWithoutCheckpoint ?? 0) + 1 : 0;
}
