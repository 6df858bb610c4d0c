// In-memory channel between two tasks (same process). Bounded: `writable` turns false once
// `capacity` batches are queued; producers check it before pulling more input, so a slow
// consumer stops its producers instead of growing memory. Watermarks, idle markers and end
// travel in-band, in order with the records. The TCP data plane will implement the same
// interface with credits.
//
// Checkpoint barriers (`barrier`) and cancel markers (`cancelBarrier`) are in-band too: a
// barrier separates the records before checkpoint N from those after it, so a channel
// implementation must keep every element in send order and must never drop or reorder a
// barrier relative to batches. Both are plain JSON-serializable objects (CheckpointBarrier:
// core/barrier.ts); a TCP channel encodes them like watermarks: a tag and JSON.stringify(el).
import type { Batch } from '../core/batch.ts';
import type { CheckpointBarrier } from '../core/barrier.ts';
import { Fifo } from '../fifo.ts';

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

export interface Channel {
  readonly writable: boolean;
  send(el: ChannelElement): void;
  poll(): ChannelElement | undefined;
}

export class LocalChannel implements Channel {
  private readonly queue = new Fifo<ChannelElement>();
  private batches = 0;
  private readonly capacity: number;
  private consumerWake: () => void = () => {};
  private producerWake: () => void = () => {};
  /** Times a producer found this channel full. */
  fullCount = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  connect(consumerWake: () => void, producerWake: () => void): void {
    this.consumerWake = consumerWake;
    this.producerWake = producerWake;
  }

  get writable(): boolean {
    return this.batches < this.capacity;
  }

  get queuedBatches(): number {
    return this.batches;
  }

  send(el: ChannelElement): void {
    this.queue.push(el);
    if (el.kind === 'batch') this.batches++;
    this.consumerWake();
  }

  poll(): ChannelElement | undefined {
    const el = this.queue.shift();
    if (el === undefined) return undefined;
    if (el.kind === 'batch') {
      this.batches--;
      if (this.batches === this.capacity - 1) this.producerWake();
    }
    return el;
  }
}
