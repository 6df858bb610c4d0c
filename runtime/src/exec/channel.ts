// In-memory channel between two tasks (same process), the Channel of core/channel.ts (whose
// header holds the order every channel keeps). Bounded: `writable` turns false once `capacity`
// batches are queued; producers check it before pulling more input, so a slow consumer stops
// its producers instead of growing memory.
import type { Channel, ChannelElement } from '../core/channel.ts';
import { Fifo } from '../fifo.ts';

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
