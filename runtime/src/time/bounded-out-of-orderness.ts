// Flink's BoundedOutOfOrdernessWatermarks: watermark = max timestamp − bound − 1, so a
// record exactly `bound` older than the newest one is still on time.
import { MIN_WATERMARK } from '../core/watermark.ts';

export class BoundedOutOfOrderness {
  private readonly bound: number;
  private maxTs: number;

  constructor(boundMs: number) {
    this.bound = boundMs;
    this.maxTs = MIN_WATERMARK + boundMs + 1;
  }

  onEvent(ts: number): void {
    if (ts > this.maxTs) this.maxTs = ts;
  }

  /** Starts at watermark `wm` at least (a partition taken over in a live rescale: its old owner's watermark). */
  seed(wm: number): void {
    if (wm > MIN_WATERMARK) this.onEvent(wm + this.bound + 1);
  }

  current(): number {
    return this.maxTs - this.bound - 1;
  }
}
