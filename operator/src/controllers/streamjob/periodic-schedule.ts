// When the next periodic savepoint (spec.savepoints.interval) is due, derived from status alone:
// an operator restarted at any moment computes the same schedule, and no timer lives in memory.
// Due `interval` after the last periodic one was started (status.periodicSavepoints.lastTriggeredAt),
// or after the running deployment started when none was ever taken; a failed one is retried at
// retryAt (restartPolicy.backoff) up to MAX_PERIODIC_ATTEMPTS attempts, then waits for its next
// turn. Pure.
import { parseDuration } from '../../../../runtime/src/graph/duration.ts';
import type { StreamJobSpec, StreamJobStatus } from '../../api/v1alpha1/streamjob.ts';

/** Attempts of one periodic savepoint (the first and two retries) before it waits for the next interval. */
export const MAX_PERIODIC_ATTEMPTS = 3;

/** Shortest interval accepted: a savepoint copies the whole state, so sub-second ones would never end. */
export const MIN_PERIODIC_INTERVAL_MS = 1_000;

/** spec.savepoints.interval in ms; undefined = periodic savepoints are off (absent or unparsable). */
export function periodicIntervalMs(spec: StreamJobSpec): number | undefined {
  const text = spec.savepoints?.interval;
  if (text === undefined || text === '') return undefined;
  const ms = parseDuration(text);
  return ms !== undefined && ms >= MIN_PERIODIC_INTERVAL_MS ? ms : undefined;
}

/** When the next periodic savepoint is due; undefined = none (off, or nothing deployed to anchor on). */
export function nextPeriodicAt(spec: StreamJobSpec, status: StreamJobStatus | undefined): Date | undefined {
  const every = periodicIntervalMs(spec);
  if (every === undefined) return undefined;
  const p = status?.periodicSavepoints;
  if (p?.retryAt) return new Date(p.retryAt);
  const anchor = p?.lastTriggeredAt ?? status?.deployed?.startedAt;
  if (!anchor) return undefined;
  return new Date(Date.parse(anchor) + every);
}
