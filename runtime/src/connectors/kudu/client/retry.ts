// Retries of one logical operation until its deadline: attempts back off exponentially (capped),
// only errors marked retriable are retried, and the last error is kept as the timeout's cause
// (or thrown itself when it says the servers were unreachable the whole time).
import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError } from '../../../errors.ts';
import { kuduError } from './kudu-errors.ts';

export interface Deadline {
  readonly at: number;
  /** When the operation started. */
  readonly startedAt: number;
  readonly what: string;
  /**
   * Bound on one attempt's call: a third of the operation's timeout, between 1 s and 10 s, so a
   * server that never answers (hung) leaves time to retry at another leader within the deadline.
   */
  readonly attemptMs: number;
  /** Told of every failed attempt that will be retried (a caller's warnings while an outage lasts). */
  readonly onRetry?: OnRetry;
}

/** A failed attempt of the operation `what` (started at `startedAt`, epoch ms) that is retried. */
export type OnRetry = (what: string, err: unknown, startedAt: number) => void;

export function deadline(timeoutMs: number, what: string, onRetry?: OnRetry): Deadline {
  const now = Date.now();
  return {
    at: now + timeoutMs,
    startedAt: now,
    what,
    attemptMs: Math.min(10_000, Math.max(1_000, Math.floor(timeoutMs / 3))),
    ...(onRetry ? { onRetry } : {}),
  };
}

/** The timeout of one call now: the attempt's bound, never past the deadline. */
export function attemptTimeoutMs(d: Deadline): number {
  return Math.max(1, Math.min(remainingMs(d), d.attemptMs));
}

export function remainingMs(d: Deadline): number {
  return Math.max(0, d.at - Date.now());
}

export async function withRetries<T>(
  d: Deadline,
  attempt: (attemptTimeoutMs: number) => Promise<T>,
  retriable: (err: unknown) => boolean,
): Promise<T> {
  let backoffMs = 20;
  for (;;) {
    const left = remainingMs(d);
    if (left <= 0) throw kuduError('TRIB_KUDU_TIMEOUT', `${d.what} did not complete in time`);
    try {
      return await attempt(left);
    } catch (err) {
      if (!retriable(err)) throw err;
      if (remainingMs(d) <= backoffMs) {
        // Nothing reachable for the whole deadline says more than "timed out": keep that error.
        if (err instanceof TributaryError && err.code === 'TRIB_KUDU_CONNECT') throw err;
        throw kuduError('TRIB_KUDU_TIMEOUT', `${d.what} did not complete in time; last error: ${String(err)}`, err);
      }
      d.onRetry?.(d.what, err, d.startedAt);
      await sleep(backoffMs);
      backoffMs = Math.min(backoffMs * 2, 1000);
    }
  }
}
