// Which restarts count against restartPolicy.maxRestarts. Without restartPolicy.window, every
// restart since the last deployment that was not a restart counts (a job that fails rarely but
// never redeploys uses maxRestarts up over its lifetime). With a window (like Flink's
// failure-rate strategy) only the restarts of the last `window` count: status.restartTimes
// keeps when each counted restart happened, and a restart older than the window drops out.
// The count also sets the backoff exponent, so restarts after a calm window start again from
// backoff.initial.
//
// Invariant: with a window, the restarts counted are exactly those in restartTimes no older
// than the window, plus this one; restartTimes never holds more than RESTART_TIMES_KEPT entries,
// which is why a window caps maxRestarts at that number (CRD rule and validation.ts): past it,
// the job is Failed before the list would need a longer memory.
import type { StreamJobStatus } from '../../../api/v1alpha1/streamjob.ts';

/** status.restartTimes keeps at most this many times (newest last); also maxRestarts' cap with a window. */
export const RESTART_TIMES_KEPT = 100;

export interface RestartCount {
  /** status.restarts with this restart: the restarts that count against maxRestarts. */
  readonly restarts: number;
  /** status.restartTimes with this restart: the counted restarts' times, oldest first. */
  readonly restartTimes: string[];
}

/**
 * The count after a restart at `now`. `windowMs` undefined = no window (every restart since
 * the last non-restart deployment counts); a restart counts while it is at most `windowMs` old.
 * Unreadable times in the status (never written by the operator) count as outside the window.
 */
export function countRestart(
  st: Pick<StreamJobStatus, 'restarts' | 'restartTimes'>,
  now: Date,
  windowMs: number | undefined,
): RestartCount {
  const at = now.toISOString();
  const prev = st.restartTimes ?? [];
  if (windowMs === undefined)
    return { restarts: (st.restarts ?? 0) + 1, restartTimes: [...prev, at].slice(-RESTART_TIMES_KEPT) };
  const kept = prev.filter((t) => now.getTime() - Date.parse(t) <= windowMs);
  return { restarts: kept.length + 1, restartTimes: [...kept, at].slice(-RESTART_TIMES_KEPT) };
}
