// Retries of one logical operation until its deadline: attempts back off exponentially (capped),
// only errors marked retriable are retried, and the last error is kept as the timeout's cause
// (or thrown itself when it says the servers were unreachable the whole time).
import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError } from '../../../errors.ts';
import { kuduError } from './kudu-errors.ts';

export interface Deadline {
  readonly at: number;
  readonly what: string;
}

export function deadline(timeoutMs: number, what: string): Deadline {
  return { at: Date.now() + timeoutMs, what };
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
      await sleep(backoffMs);
      backoffMs = Math.min(backoffMs * 2, 1000);
    }
  }
}
