// Sends one stream to several consumers (a node read by more than one step or sink).
import type { Output } from './types.ts';
import type { Batch } from '../core/batch.ts';

export class FanOut implements Output {
  private readonly outs: Output[];

  constructor(outs: Output[]) {
    this.outs = outs;
  }

  push(b: Batch): void {
    for (const o of this.outs) o.push(b);
  }

  watermark(wm: number): void {
    for (const o of this.outs) o.watermark(wm);
  }

  idle(idle: boolean): void {
    for (const o of this.outs) o.idle(idle);
  }

  end(): void {
    for (const o of this.outs) o.end();
  }
}
