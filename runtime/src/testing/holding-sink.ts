// A sink for load tests: it refuses input (backpressured) from its first write until `holdMs`
// later, then takes everything; the slot is woken when it takes input again.
import type { SinkWriter, SinkWriterContext } from '../connectors/api.ts';

export class HoldingSink implements SinkWriter {
  backpressured = false;
  private readonly holdMs: number;
  private wake: (() => void) | undefined;
  private held = false;

  constructor(holdMs: number) {
    this.holdMs = holdMs;
  }

  open(ctx: SinkWriterContext): Promise<void> {
    this.wake = ctx.wake;
    return Promise.resolve();
  }

  write(): void {
    if (this.held) return;
    this.held = true;
    this.backpressured = true;
    setTimeout(() => {
      this.backpressured = false;
      this.wake?.();
    }, this.holdMs);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
