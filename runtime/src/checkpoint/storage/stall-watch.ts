// Tells a stalled read from a slow one: a read stalls when it has received nothing (no response,
// no body bytes) for `boundMs`. Only the time since the last progress counts, never the total,
// so a large state that keeps arriving, however slowly, is never cut off.
//
// Invariants: one timer at a time, re-armed lazily (progress only records the time; the timer,
// when it fires, measures the idle time and re-arms for the remainder), so progress per chunk
// costs no timer churn. The first warning comes once the read has been idle for `warnAfterMs`;
// warnings are at most `warnEveryMs` apart over the whole read (a read that stalls, recovers and
// stalls again is not a warning per stall). `stalled` rejects once, at the bound; after `stop()`
// nothing fires.

export interface StallWatchOptions {
  /** Idle time after which the read has stalled. */
  readonly boundMs: number;
  /** Idle time of the first warning (default: half the bound, at most 10 s). */
  readonly warnAfterMs?: number;
  /** Least time between two warnings (default 30 s). */
  readonly warnEveryMs?: number;
  /** The read has been idle for `idleMs`; not yet at the bound. */
  readonly onWarn: (idleMs: number) => void;
  /** Progress after a warned-about stall of `idleMs`. */
  readonly onResume?: (idleMs: number) => void;
  /** The error `stalled` rejects with (the read's own, naming what it reads). */
  readonly stallError: (idleMs: number) => Error;
  readonly now?: () => number;
}

export const STALL_WARN_EVERY_MS = 30_000;

/** The first warning: once half the bound passed without progress, at most 10 s in. */
export function stallWarnAfterMs(boundMs: number): number {
  return Math.min(10_000, Math.max(1, Math.floor(boundMs / 2)));
}

export class StallWatch {
  /** Rejects when the read has been idle for the bound; never resolves. */
  readonly stalled: Promise<never>;
  private readonly o: Required<Omit<StallWatchOptions, 'onResume'>> & Pick<StallWatchOptions, 'onResume'>;
  private lastProgress: number;
  private lastWarnAt: number | undefined;
  /** The idle time of the current stall's last warning (0: not warned in this stall). */
  private warnedIdle = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private reject!: (e: Error) => void;

  constructor(options: StallWatchOptions) {
    this.o = {
      warnAfterMs: stallWarnAfterMs(options.boundMs),
      warnEveryMs: STALL_WARN_EVERY_MS,
      now: Date.now,
      ...options,
    };
    this.lastProgress = this.o.now();
    this.stalled = new Promise<never>((_, reject) => (this.reject = reject));
    // Nobody may await `stalled` (the read finished first): never an unhandled rejection.
    this.stalled.catch(() => undefined);
    this.arm(Math.min(this.o.warnAfterMs, this.o.boundMs));
  }

  /** Something arrived (the response, a body chunk). */
  progress(): void {
    const now = this.o.now();
    if (this.warnedIdle > 0) {
      this.warnedIdle = 0;
      this.o.onResume?.(now - this.lastProgress);
    }
    this.lastProgress = now;
  }

  /** Time since the last progress. */
  idleMs(): number {
    return this.o.now() - this.lastProgress;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private arm(inMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.check(), Math.max(1, inMs));
  }

  /** The next time something is due, measured from the last progress. */
  private check(): void {
    if (this.stopped) return;
    const now = this.o.now();
    const idle = now - this.lastProgress;
    if (idle >= this.o.boundMs) {
      this.stop();
      this.reject(this.o.stallError(idle));
      return;
    }
    const canWarn = this.lastWarnAt === undefined || now - this.lastWarnAt >= this.o.warnEveryMs;
    if (idle >= this.o.warnAfterMs && canWarn) {
      this.lastWarnAt = now;
      this.warnedIdle = idle;
      this.o.onWarn(idle);
    }
    const nextWarnIdle =
      idle < this.o.warnAfterMs
        ? this.o.warnAfterMs
        : idle + Math.max(1, this.o.warnEveryMs - (now - (this.lastWarnAt ?? now)));
    this.arm(Math.min(nextWarnIdle, this.o.boundMs) - idle);
  }
}
