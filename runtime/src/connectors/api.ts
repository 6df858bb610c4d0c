// Interfaces between connectors and the executor. Sources are polled from the slot's
// mailbox loop and never block it: a reader with nothing to return says so and calls
// `wake()` when data arrives. Sinks receive batches synchronously and report backpressure.
import type { Logger } from 'pino';
import type { Batch, Rec } from '../operators/types.ts';

export interface SourceReaderContext {
  readonly sourceName: string;
  readonly slot: number;
  readonly parallelism: number;
  readonly logger: Logger;
  /** Declares a partition (for per-partition watermarks); returns its index. */
  addPartition(): number;
  /** A finished partition no longer holds back the watermark. */
  finishPartition(p: number): void;
  /** Wakes the slot's loop (call when data becomes available). */
  wake(): void;
  /** Wakes the slot's loop at `time` (epoch ms), e.g. for rate limiting. */
  wakeAt(time: number): void;
  /** Counts a record that could not be read (and was skipped or dead-lettered). */
  recordFailed(reason: string): void;
}

export interface RawRecords {
  add(rec: Rec, partition: number): void;
  readonly count: number;
}

/** `data`: some records were added; `empty`: none now (the reader wakes the slot later); `end`: finished. */
export type PollResult = 'data' | 'empty' | 'end';

export interface SourceReader {
  open(ctx: SourceReaderContext): Promise<void>;
  poll(out: RawRecords, max: number): PollResult;
  /**
   * A record the runtime rejected after the reader produced it (e.g. no valid timestamp).
   * Readers with a dead-letter destination send it there; the default is to skip it.
   */
  reject?(rec: Rec, partition: number, reason: string): void;
  close(): Promise<void>;
}

export interface SinkWriterContext {
  readonly sinkName: string;
  readonly slot: number;
  readonly parallelism: number;
  readonly logger: Logger;
  /** Wakes the slot's loop (call when backpressure clears). */
  wake(): void;
}

export interface SinkWriter {
  open(ctx: SinkWriterContext): Promise<void>;
  write(b: Batch): void;
  /** True while the writer wants no more input (the slot stops pulling records). */
  readonly backpressured: boolean;
  /** Flushes everything written and releases resources. */
  close(): Promise<void>;
}
