// Fetched records of a Kafka source slot, one queue per partition, and the partitions that
// watermark alignment paused. poll() takes from the queues in turn, skipping paused
// partitions, whose fetching the source pauses in its consumer too. The bound on queued
// records counts only partitions that are not paused, so a paused partition's queue never
// stops the others from being fetched.
import { Fifo } from '../../fifo.ts';
import type { OriginSource } from '../../core/origin.ts';
import type { KeptHeaders } from './original-headers.ts';

/**
 * A fetched record, or (`skipped`) the last offset of a fetch whose tail held no record for us: transaction
 * markers and aborted records occupy offsets that are never delivered, and a bounded read must still see
 * its end offset passed.
 */
export interface Queued {
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  /** Only with a dead-letter topic (fetch-intake.ts): the record's original headers, for its dead letter. */
  headers?: KeptHeaders | undefined;
  /** Only while the job has an errorOutput: the source, so this entry is the record's origin (core/origin.ts). */
  from?: OriginSource | undefined;
  skipped?: true;
}

/** Queued records (of partitions not paused) above which the fetch loop waits for poll() to take some. */
export const MAX_QUEUED = 20_000;

export class PartitionQueues {
  /** Per Kafka partition: fetched records not yet polled. */
  private readonly queues = new Map<number, Fifo<Queued>>();
  private queued = 0;
  /** Kafka partitions paused by alignment. */
  private readonly paused = new Set<number>();
  private rr = 0;
  private spaceWaiters: (() => void)[] = [];

  enqueue(q: Queued): void {
    let pq = this.queues.get(q.partition);
    if (!pq) {
      pq = new Fifo<Queued>();
      this.queues.set(q.partition, pq);
    }
    pq.push(q);
    this.queued++;
  }

  /** Entries of `partition` fetched and not taken yet. */
  queuedOf(partition: number): number {
    const pq = this.queues.get(partition);
    return pq ? pq.size : 0;
  }

  /** True while the fetch loop should wait before handing over more of `partition`'s records. */
  full(partition: number): boolean {
    return this.unpausedQueued() > MAX_QUEUED && !this.paused.has(partition);
  }

  /** Resolves when poll() has taken records (or pausing changed): the fetch loop re-checks `full`. */
  waitForSpace(): Promise<void> {
    return new Promise<void>((r) => this.spaceWaiters.push(r));
  }

  /** Queued records of partitions that are not paused (what bounds fetching). */
  private unpausedQueued(): number {
    let n = this.queued;
    for (const p of this.paused) {
      const pq = this.queues.get(p);
      if (pq) n -= pq.size;
    }
    return n;
  }

  /** Pauses exactly `partitions` (Kafka partition ids). */
  setPaused(partitions: Iterable<number>): void {
    this.paused.clear();
    for (const p of partitions) this.paused.add(p);
    this.releaseSpace();
  }

  /**
   * Drops every entry of `partition`: it leaves this slot (live rescale), and what was fetched
   * of it and never taken is not this slot's to emit. Returns how many entries went.
   */
  drop(partition: number): number {
    const pq = this.queues.get(partition);
    if (!pq) return 0;
    this.queues.delete(partition);
    this.queued -= pq.size;
    this.paused.delete(partition);
    this.releaseSpace();
    return pq.size;
  }

  releaseSpace(): void {
    const w = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const f of w) f();
  }

  /**
   * Hands up to `max` entries to `take` (true when it added a record): partitions in turn from
   * a rotating start, each its share of `max`, then whatever is left. Returns the records added.
   * `take` answering `wait` leaves the entry at the head of its queue and the partition is not
   * drained further in this call (the entry's decoding waits for something: registry-decoding.ts).
   */
  drain(max: number, take: (m: Queued) => boolean | 'wait'): number {
    let n = 0;
    const parts = [...this.queues.keys()];
    const share = Math.max(1, Math.ceil(max / Math.max(1, parts.length - this.paused.size)));
    const waiting = new Set<number>();
    for (let pass = 0; pass < 2 && n < max; pass++) {
      for (let j = 0; j < parts.length && n < max; j++) {
        const kp = parts[(this.rr + j) % parts.length] as number;
        if (this.paused.has(kp) || waiting.has(kp)) continue;
        const pq = this.queues.get(kp) as Fifo<Queued>;
        const limit = pass === 0 ? Math.min(max, n + share) : max;
        while (n < limit && pq.size > 0) {
          const taken = take(pq.peek() as Queued);
          if (taken === 'wait') {
            waiting.add(kp);
            break;
          }
          pq.shift();
          this.queued--;
          if (taken) n++;
        }
      }
    }
    this.rr++;
    if (this.unpausedQueued() <= MAX_QUEUED && this.spaceWaiters.length > 0) this.releaseSpace();
    return n;
  }
}
