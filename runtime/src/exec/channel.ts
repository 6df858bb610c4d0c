// In-memory channel between two tasks (same process). Bounded: `writable` turns false once
// `capacity` batches are queued; producers check it before pulling more input, so a slow
// consumer stops its producers instead of growing memory. Watermarks, idle markers and end
// travel in-band, in order with the records. The TCP data plane will implement the same
// interface with credits.
import type { Batch } from '../operators/types.ts';

export type ChannelElement =
  | { kind: 'batch'; batch: Batch }
  | { kind: 'watermark'; wm: number }
  | { kind: 'idle'; idle: boolean }
  | { kind: 'end' };

export interface Channel {
  readonly writable: boolean;
  send(el: ChannelElement): void;
  poll(): ChannelElement | undefined;
}

export class LocalChannel implements Channel {
  private queue: ChannelElement[] = [];
  private head = 0;
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
    if (this.head >= this.queue.length) return undefined;
    const el = this.queue[this.head++] as ChannelElement;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (el.kind === 'batch') {
      this.batches--;
      if (this.batches === this.capacity - 1) this.producerWake();
    }
    return el;
  }
}
