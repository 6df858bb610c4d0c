// Counts the records a node emits (one counter update per batch, not per record).
import type { Batch, Output } from '../operators/types.ts';

export class CountingOutput implements Output {
  private readonly out: Output;
  private readonly count: (n: number) => void;

  constructor(out: Output, count: (n: number) => void) {
    this.out = out;
    this.count = count;
  }

  push(b: Batch): void {
    this.count(b.n);
    this.out.push(b);
  }

  watermark(wm: number): void {
    this.out.watermark(wm);
  }

  idle(idle: boolean): void {
    this.out.idle(idle);
  }

  end(): void {
    this.out.end();
  }
}
