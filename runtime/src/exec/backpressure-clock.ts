// Measures how long a task could not run because an output (channel or sink) was full:
// started when a step finds an output not writable, stopped at the next step that can run.
export class BackpressureClock {
  private since = 0;
  private reportedMs = 0;
  private readonly report: (seconds: number) => void;

  constructor(report: (seconds: number) => void) {
    this.report = report;
  }

  blocked(): void {
    if (this.since === 0) this.since = performance.now();
  }

  /** Milliseconds of the blocked period under way (0 while the task runs), not reported yet. */
  get openMs(): number {
    return this.since === 0 ? 0 : performance.now() - this.since;
  }

  /** Milliseconds blocked since the clock was made, the period under way included (never decreases). */
  get totalMs(): number {
    return this.reportedMs + this.openMs;
  }

  running(): void {
    if (this.since === 0) return;
    const ms = performance.now() - this.since;
    this.reportedMs += ms;
    this.report(ms / 1000);
    this.since = 0;
  }
}
