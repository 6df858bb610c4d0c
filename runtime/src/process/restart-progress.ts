// What the local supervisor knows about a job's progress across attempts, and the restart
// backoff it derives: an attempt made progress when a checkpoint completed while it ran (the
// supervisor sees them appear in the state directory). Pure: times come in as arguments.
//
// Invariants:
//   * `streak` counts the attempts in a row that ended before any checkpoint completed; an
//     attempt that completed one resets it (and the backoff ladder) to zero;
//   * once `streak` reaches `warnAfter`, every further failure without progress is reported
//     (the caller logs it at warn, with the count and the last failure);
//   * the backoff doubles per consecutive failure from `backoffMs` up to `maxBackoffMs`, but
//     while the job makes no progress it never exceeds max(`floorMs`, the measured time from
//     an attempt's start to its first completed checkpoint): a longer wait would not help a
//     job that keeps failing before it can checkpoint, and each attempt must get the chance
//     to complete one as soon as it can (docs/runtime/distributed.md, "Restarts").

export interface RestartProgressOptions {
  /** First backoff; doubles per consecutive failure. Default 500 ms. */
  backoffMs?: number;
  /** Ceiling of the doubling. Default 10 s. */
  maxBackoffMs?: number;
  /** Backoff ceiling while no checkpoint completes, until a first one's time is known (then its floor). Default 1 s. */
  floorMs?: number;
  /** Attempts in a row without a checkpoint before they are reported. Default 3. */
  warnAfter?: number;
}

export interface FailureVerdict {
  /** Wait before the next attempt (ms). */
  backoffMs: number;
  /** Attempts in a row (this one included) that ended before any checkpoint completed. */
  streak: number;
  /** The streak reached warnAfter: report it. */
  noProgress: boolean;
}

export class RestartProgress {
  private readonly o: Required<RestartProgressOptions>;
  private attemptStart = 0;
  private attemptCheckpointed = false;
  private consecutive = 0;
  private streakCount = 0;
  /** Attempt start → its first completed checkpoint, as last measured. */
  timeToFirstCheckpointMs: number | undefined;
  /** Checkpoints seen completing, over every attempt. */
  checkpoints = 0;

  constructor(o: RestartProgressOptions = {}) {
    this.o = {
      backoffMs: o.backoffMs ?? 500,
      maxBackoffMs: o.maxBackoffMs ?? 10_000,
      floorMs: o.floorMs ?? 1000,
      warnAfter: o.warnAfter ?? 3,
    };
  }

  get streak(): number {
    return this.streakCount;
  }

  attemptStarted(now: number): void {
    this.attemptStart = now;
    this.attemptCheckpointed = false;
  }

  /** A checkpoint completed during the current attempt (`now`: when it was seen). */
  checkpointCompleted(now: number): void {
    this.checkpoints++;
    if (this.attemptCheckpointed) return;
    this.attemptCheckpointed = true;
    this.timeToFirstCheckpointMs = Math.max(0, now - this.attemptStart);
    this.consecutive = 0;
    this.streakCount = 0;
  }

  /** The current attempt failed: the backoff before the next one, and whether to report no progress. */
  attemptFailed(): FailureVerdict {
    this.consecutive++;
    if (!this.attemptCheckpointed) this.streakCount++;
    const o = this.o;
    let backoffMs = Math.min(o.backoffMs * 2 ** (this.consecutive - 1), o.maxBackoffMs);
    if (this.streakCount > 0) backoffMs = Math.min(backoffMs, Math.max(o.floorMs, this.timeToFirstCheckpointMs ?? 0));
    return { backoffMs, streak: this.streakCount, noProgress: this.streakCount >= o.warnAfter };
  }
}
