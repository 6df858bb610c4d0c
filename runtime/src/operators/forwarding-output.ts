import type { Batch, Output } from './types.ts';

/**
 * An Output that transforms records and passes the in-band stream elements (watermark,
 * idleness, end of input) through unchanged: what every operator without event-time
 * timers does. Operators with timers implement Output themselves.
 */
export abstract class ForwardingOutput implements Output {
  protected readonly out: Output;

  constructor(out: Output) {
    this.out = out;
  }

  abstract push(b: Batch): void;

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
