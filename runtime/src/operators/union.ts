// union: merges several streams. Watermarks are already combined by the task's input gate.
import type { MultiInputOperator, Output } from './types.ts';
import type { Batch } from '../core/batch.ts';
import { ForwardingOutput } from './forwarding-output.ts';

export class UnionOperator extends ForwardingOutput implements MultiInputOperator {
  constructor(out: Output) {
    super(out);
  }

  pushInput(_input: number, b: Batch): void {
    this.out.push(b);
  }

  push(b: Batch): void {
    this.out.push(b);
  }
}
