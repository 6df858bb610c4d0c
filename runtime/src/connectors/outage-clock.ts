// The clock of one outage a connector rides out by retrying (a lookup table's loads, the Kafka
// sink's recovery at start): since when it lasts, how many attempts failed, how long to wait
// before the next (0.5 s doubling to 5 s, never past the bound), whether the bound has passed,
// and whether a failure is worth a warning (the first, then at most every `warnEveryMs`, never one
// per retry). Messages and reports stay with the caller; `since` does not move while it lasts.

export const RETRY_INITIAL_MS = 500;
export const RETRY_MAX_MS = 5_000;

/** What one failure means: the outage so far, and what to do next. */
export interface OutageStep {
  since: number;
  attempts: number;
  downMs: number;
  /** The bound has passed: give up. */
  expired: boolean;
  /** Before the next attempt (when not expired). */
  delayMs: number;
  /** Log this failure (the first, or the warning period has passed). */
  warn: boolean;
}

export class OutageClock {
  private since: number | undefined;
  private attempts = 0;
  private lastWarnAt = 0;
  private readonly boundMs: number;
  private readonly warnEveryMs: number;
  private readonly now: () => number;

  constructor(boundMs: number, warnEveryMs: number, now: () => number = Date.now) {
    this.boundMs = boundMs;
    this.warnEveryMs = warnEveryMs;
    this.now = now;
  }

  /** A failed attempt; `at`: when the trouble it met began, if before now (a call that timed out). */
  failed(at?: number): OutageStep {
    const now = this.now();
    const since = (this.since ??= Math.min(at ?? now, now));
    this.attempts++;
    const downMs = now - since;
    const delayMs = Math.max(
      0,
      Math.min(RETRY_INITIAL_MS * 2 ** Math.min(this.attempts - 1, 10), RETRY_MAX_MS, this.boundMs - downMs),
    );
    const warn = this.attempts === 1 || now - this.lastWarnAt >= this.warnEveryMs;
    if (warn) this.lastWarnAt = now;
    return { since, attempts: this.attempts, downMs, expired: downMs >= this.boundMs, delayMs, warn };
  }

  /** A success: the outage it ends (for the recovery line), or undefined when there was none. */
  recovered(): { downMs: number; attempts: number } | undefined {
    if (this.since === undefined) return undefined;
    const out = { downMs: this.now() - this.since, attempts: this.attempts };
    this.since = undefined;
    this.attempts = 0;
    this.lastWarnAt = 0;
    return out;
  }
}
