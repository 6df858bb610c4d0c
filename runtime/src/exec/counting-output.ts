// Counts the records a node emits (one counter update per batch, not per record).
import type { Output } from '../operators/types.ts';
import type { Batch } from '../core/batch.ts';
import { ForwardingOutput } from '../operators/forwarding-output.ts';

export class CountingOutput extends ForwardingOutput {
  private readonly count: (n: number) => void;

  constructor(out: Output, count: (n: number) => void) {
    super(out);
    this.count = count;
  }

  push(b: Batch): void {
    this.count(b.n);
    this.out.push(b);
  }
}
