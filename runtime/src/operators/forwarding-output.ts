import type { Output } from './types.ts';
import type { Batch } from '../core/batch.ts';
import type { RecordErrors } from './record-errors.ts';

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

/** A ForwardingOutput whose records may fail an expression: the error stream follows the main one. */
export abstract class ErrorRoutingOutput extends ForwardingOutput {
  protected readonly errors: RecordErrors;

  constructor(out: Output, errors: RecordErrors) {
    super(out);
    this.errors = errors;
  }

  override watermark(wm: number): void {
    this.out.watermark(wm);
    this.errors.watermark(wm);
  }

  override idle(idle: boolean): void {
    this.out.idle(idle);
    this.errors.idle(idle);
  }

  override end(): void {
    this.out.end();
    this.errors.end();
  }
}
