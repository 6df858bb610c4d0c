// Periodic savepoints (spec.savepoints.interval): when the schedule (periodic-schedule.ts) says
// one is due and the job runs, a savepoint operation starts — the same one savepointNonce starts
// (manual-savepoint.ts), marked trigger periodic. The first attempt's start is written with the
// intent (status.periodicSavepoints.lastTriggeredAt), so the schedule lives in status. Its outcome
// is recorded here: a completed one joins the history (reason periodic, historyLimit trims and
// deletes the oldest); a failed one removes the pending operation at once — nothing waits on it,
// checkpoints and spec changes go on — and is retried at retryAt with restartPolicy.backoff, at
// most MAX_PERIODIC_ATTEMPTS times, then waits for its next turn. Each failure is a SavepointFailed
// Warning Event, SavepointInProgress False with the reason, and status.periodicSavepoints.failures
// and lastError.
import type { ReconcileResult } from '../../../kube/index.ts';
import type { PeriodicSavepointStatus, StreamJobSpec, StreamJobStatus } from '../../../api/v1alpha1/streamjob.ts';
import type { SavepointFailureReason } from '../conditions.ts';
import type { JobCtx, ReconcilerInternals } from '../job-context.ts';
import { MAX_PERIODIC_ATTEMPTS, nextPeriodicAt } from '../periodic-schedule.ts';
import { startOperation } from './start.ts';

export type PeriodicCheck =
  /** A periodic savepoint started: the reconcile ends with its result. */
  | { started: true; result: ReconcileResult | void }
  /** None started; `dueInMs`: the next is due then (undefined: none scheduled). */
  | { started: false; dueInMs?: number };

/** For a Running job whose runtime is RUNNING and with no operation pending. */
export async function periodicSavepointIfDue(
  r: ReconcilerInternals,
  c: JobCtx,
  spec: StreamJobSpec,
): Promise<PeriodicCheck> {
  const st = c.job.status ?? {};
  const next = nextPeriodicAt(spec, st);
  const p = st.periodicSavepoints;
  if (!next) {
    if (p?.nextAt || p?.retryAt)
      await r.record(c, 'periodic-savepoint-off', (s) => {
        s.periodicSavepoints = withoutSchedule(s.periodicSavepoints);
        return s;
      });
    return { started: false };
  }
  const dueIn = next.getTime() - c.now.getTime();
  if (dueIn > 0) {
    // The schedule is shown in status; written only when it moves (an interval edited, enabled).
    if (p?.nextAt !== next.toISOString())
      await r.record(c, 'periodic-savepoint-scheduled', (s) => {
        s.periodicSavepoints = { ...s.periodicSavepoints, nextAt: next.toISOString() };
        return s;
      });
    return { started: false, dueInMs: dueIn };
  }
  const retry = p?.retryAt !== undefined;
  const attempt = retry ? (p?.retryAttempt ?? 2) : 1;
  const result = await startOperation(r, c, {
    kind: 'savepoint',
    spec,
    mode: 'savepoint',
    extra: { trigger: 'periodic', attempt },
    alsoRecord: (s) => {
      const prev = withoutSchedule(s.periodicSavepoints);
      s.periodicSavepoints = retry ? prev : { ...prev, lastTriggeredAt: c.now.toISOString() };
    },
  });
  return { started: true, result };
}

/** The status of a completed periodic savepoint (the history entry is the caller's). */
export function periodicCompleted(s: StreamJobStatus, spec: StreamJobSpec, now: Date): void {
  const p: PeriodicSavepointStatus = { ...withoutSchedule(s.periodicSavepoints), lastCompletedAt: now.toISOString() };
  delete p.lastError;
  p.failures = 0;
  s.periodicSavepoints = p;
  const next = nextPeriodicAt(spec, s);
  if (next) s.periodicSavepoints.nextAt = next.toISOString();
}

/**
 * The status of a failed periodic savepoint attempt `attempt - 1` (`attempt`: the next one, as
 * advance-savepoint.ts counts); returns whether it is retried.
 */
export function periodicFailed(
  s: StreamJobStatus,
  spec: StreamJobSpec,
  now: Date,
  failed: { reason: SavepointFailureReason; message: string; attempt: number; delay: number },
): boolean {
  const p: PeriodicSavepointStatus = {
    ...withoutSchedule(s.periodicSavepoints),
    failures: (s.periodicSavepoints?.failures ?? 0) + 1,
    lastError: `${failed.reason}: ${failed.message}`,
  };
  const retried = failed.attempt <= MAX_PERIODIC_ATTEMPTS;
  if (retried) {
    p.retryAt = new Date(now.getTime() + failed.delay).toISOString();
    p.retryAttempt = failed.attempt;
  }
  s.periodicSavepoints = p;
  const next = nextPeriodicAt(spec, s);
  if (next) s.periodicSavepoints.nextAt = next.toISOString();
  return retried;
}

function withoutSchedule(p: PeriodicSavepointStatus | undefined): PeriodicSavepointStatus {
  const out = { ...p };
  delete out.nextAt;
  delete out.retryAt;
  delete out.retryAttempt;
  return out;
}
