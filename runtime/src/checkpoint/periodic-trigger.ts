// Periodic checkpoints of the coordinator (coordinator.ts): the first at start(), then one every
// interval until the job stops or ends.
// Invariant: at most one periodic checkpoint is queued or running. A tick while one is, or while
// any checkpoint is pending (storage slow or away, a savepoint ahead of it), is skipped, as
// Flink skips triggers beyond its concurrency, so triggers never pile up and run in a burst when
// the storage returns.

export interface PeriodicTriggerHooks {
  /** The job stopped or ended: no tick triggers, none is scheduled. */
  over(): boolean;
  /** A checkpoint (periodic or not) is pending now. */
  pending(): boolean;
  /** Triggers a checkpoint; settles when it completed or failed. */
  trigger(): Promise<unknown>;
  /** A periodic checkpoint failed (logged by the coordinator; the next tick tries again). */
  failed(e: unknown): void;
}

export class PeriodicTrigger {
  private readonly hooks: PeriodicTriggerHooks;
  private timer: NodeJS.Timeout | undefined;
  /** A periodic checkpoint is queued behind another trigger or running. */
  private queued = false;

  constructor(hooks: PeriodicTriggerHooks) {
    this.hooks = hooks;
  }

  /** Triggers one now and schedules the next every `intervalMs`. */
  start(intervalMs: number): void {
    this.tick();
    this.schedule(intervalMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  private tick(): void {
    if (this.hooks.over() || this.hooks.pending() || this.queued) return;
    this.queued = true;
    this.hooks
      .trigger()
      .catch((e: unknown) => this.hooks.failed(e))
      .finally(() => {
        this.queued = false;
      });
  }

  private schedule(intervalMs: number): void {
    this.timer = setTimeout(() => {
      if (this.hooks.over()) return;
      this.tick();
      this.schedule(intervalMs);
    }, intervalMs);
    this.timer.unref?.();
  }
}
