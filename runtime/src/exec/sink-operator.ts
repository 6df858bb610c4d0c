// Adapts a connector's SinkWriter to the chain's Output interface and tracks the
// watermark that reached it (for progress reporting).
import type { SinkWriter } from '../connectors/api.ts';
import type { Output } from '../operators/types.ts';
import type { Batch } from '../core/batch.ts';
import { MIN_WATERMARK } from '../core/watermark.ts';

export class SinkOperator implements Output {
  readonly name: string;
  readonly writer: SinkWriter;
  watermarkSeen = MIN_WATERMARK;
  records = 0;
  ended = false;
  private readonly onRecords: (n: number) => void;

  constructor(name: string, writer: SinkWriter, onRecords: (n: number) => void) {
    this.name = name;
    this.writer = writer;
    this.onRecords = onRecords;
  }

  push(b: Batch): void {
    if (b.n === 0) return;
    this.records += b.n;
    this.onRecords(b.n);
    this.writer.write(b);
  }

  watermark(wm: number): void {
    this.watermarkSeen = wm;
  }

  idle(): void {}

  end(): void {
    this.ended = true;
  }
}
