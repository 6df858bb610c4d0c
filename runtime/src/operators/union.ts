// union: merges several streams. Watermarks are already combined by the task's input gate.
import type { Batch, MultiInputOperator, Output } from './types.ts';

export class UnionOperator implements MultiInputOperator {
  private readonly out: Output;

  constructor(out: Output) {
    this.out = out;
  }

  pushInput(_input: number, b: Batch): void {
    this.out.push(b);
  }

  push(b: Batch): void {
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
