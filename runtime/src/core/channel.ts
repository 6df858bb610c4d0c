// What travels between two tasks, and the interface every transport implements: the in-memory
// channel between tasks of one process (exec/channel.ts), TCP between processes and
// MessagePorts between threads (net/). Watermarks, idle markers and end travel in-band, in order
// with the records.
//
// Checkpoint barriers (`barrier`) and cancel markers (`cancelBarrier`) are in-band too: a
// barrier separates the records before checkpoint N from those after it, so a channel
// implementation must keep every element in send order and must never drop or reorder a
// barrier relative to batches. Both are plain JSON-serializable objects (CheckpointBarrier:
// barrier.ts); a TCP channel encodes them like watermarks: a tag and JSON.stringify(el).
import type { Batch } from './batch.ts';
import type { CheckpointBarrier } from './barrier.ts';

export type ChannelElement =
  | { kind: 'batch'; batch: Batch }
  | { kind: 'watermark'; wm: number }
  | { kind: 'idle'; idle: boolean }
  | { kind: 'end' }
  | { kind: 'barrier'; barrier: CheckpointBarrier }
  /** Flink's CancelCheckpointMarker: the sender gave up on checkpoint `id`; receivers abort alignment for it. */
  | { kind: 'cancelBarrier'; id: number };

/** Elements other than batches, which a transport may encode generically as JSON. */
export type ControlElement = Exclude<ChannelElement, { kind: 'batch' }>;

/** Bounded: a producer checks `writable` before it pulls more input, so a slow consumer stops its producers. */
export interface Channel {
  readonly writable: boolean;
  send(el: ChannelElement): void;
  poll(): ChannelElement | undefined;
}
