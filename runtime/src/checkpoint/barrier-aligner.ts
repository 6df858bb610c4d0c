// Aligned barrier handling at a task with several input channels (Flink's
// SingleCheckpointBarrierHandler with aligned state):
//   * the first barrier of checkpoint N starts alignment; every channel that delivered
//     barrier N is blocked (not read again) until barrier N arrived on every open channel;
//   * then the task snapshots, forwards the barrier and all channels are unblocked;
//   * a barrier with an id below the current one, or equal to it with nothing pending
//     (already completed or aborted here), is obsolete and ignored;
//   * a barrier with a higher id while N is pending aborts N (subsumed) and starts the new one;
//   * end of input on a channel reduces the open channels; a pending alignment then completes
//     if every channel still open delivered the barrier (Flink: EndOfPartition counts as the
//     barrier). Every record of the finished channel was read before the snapshot, and its
//     producer reports its final position (a finished task's snapshot, slot-checkpointer.ts);
//   * a cancel marker for the pending id aborts it (and marks the id as seen);
//   * a channel added while running (a slot joins a live rescale: addInput) counts toward the
//     next barrier on. One added while barrier N aligns is taken as if it had delivered N at
//     its start: N completes without it, and it stays blocked until then, because everything
//     its producer sends on it comes after N (the join protocol adds it only then: the producer
//     sends it no barrier ≤ N, and every barrier after N).
// Invariant: a blocked channel is never polled, so the records after barrier N on it stay
// queued (and, over TCP, stop its producer through credits) until the snapshot is taken.
import type { CheckpointBarrier } from '../core/barrier.ts';
import { TributaryError } from '../errors.ts';

export interface AlignerEvents {
  /** All open channels delivered barrier `b`: snapshot, then forward it. Channels are unblocked right after. */
  aligned(b: CheckpointBarrier, alignmentMs: number): void;
  /** Checkpoint `id` was abandoned at this task (subsumed, end of input, cancel marker). */
  aborted(id: number, reason: string): void;
}

export class BarrierAligner {
  private readonly events: AlignerEvents;
  private readonly blocked: boolean[];
  private readonly open: boolean[];
  private openCount: number;
  private currentId = -1;
  private pending = false;
  private received = 0;
  private startedAt = 0;
  private barrier: CheckpointBarrier | undefined;

  constructor(channels: number, events: AlignerEvents) {
    this.events = events;
    this.blocked = new Array<boolean>(channels).fill(false);
    this.open = new Array<boolean>(channels).fill(true);
    this.openCount = channels;
  }

  isBlocked(ch: number): boolean {
    return this.blocked[ch] === true;
  }

  get pendingCheckpoint(): number | undefined {
    return this.pending ? this.currentId : undefined;
  }

  onBarrier(ch: number, b: CheckpointBarrier): void {
    if (b.id < this.currentId || (b.id === this.currentId && !this.pending)) return; // obsolete
    if (b.id > this.currentId) {
      if (this.pending) this.abort(`subsumed by checkpoint ${b.id}`);
      this.currentId = b.id;
      this.pending = true;
      this.received = 0;
      this.startedAt = performance.now();
      this.barrier = b;
    }
    if (this.blocked[ch]) return; // a duplicate barrier on a channel cannot happen; ignore defensively
    this.blocked[ch] = true;
    this.received++;
    this.maybeAligned();
  }

  private maybeAligned(): void {
    const b = this.barrier;
    if (!this.pending || !b || this.received < this.openCount) return;
    this.pending = false;
    const ms = performance.now() - this.startedAt;
    try {
      this.events.aligned(b, ms);
    } finally {
      this.unblockAll();
    }
  }

  onCancel(id: number): void {
    if (id < this.currentId) return;
    if (id > this.currentId) {
      if (this.pending) this.abort(`subsumed by cancelled checkpoint ${id}`);
      this.currentId = id; // barriers of `id` arriving later are obsolete
      return;
    }
    if (this.pending) this.abort('cancelled upstream');
  }

  /** A channel added while running (the next index): see the header for the barriers it counts toward. */
  addInput(): number {
    const ch = this.blocked.length;
    this.open.push(true);
    this.openCount++;
    this.blocked.push(this.pending);
    if (this.pending) this.received++;
    return ch;
  }

  /**
   * Forgets channel `ch`, which ended (its producer's slot drained: a live rescale); later
   * channels move down one. An ended channel no longer counts toward alignment, so nothing aligns
   * or aborts here.
   */
  removeInput(ch: number): void {
    if (this.open[ch] !== false)
      throw new TributaryError('TRIB_INVARIANT', `barrier aligner: channel ${ch} is still open and cannot be removed`);
    if (this.blocked[ch] === true && this.pending) this.received--;
    this.open.splice(ch, 1);
    this.blocked.splice(ch, 1);
  }

  onEndOfInput(ch: number): void {
    if (!this.open[ch]) return;
    this.open[ch] = false;
    this.openCount--;
    // A channel that delivered the barrier and then ended stays counted in `received`.
    if (this.blocked[ch] === true) return;
    this.maybeAligned();
  }

  private abort(reason: string): void {
    const id = this.currentId;
    this.pending = false;
    this.received = 0;
    this.unblockAll();
    this.events.aborted(id, reason);
  }

  private unblockAll(): void {
    this.blocked.fill(false);
  }
}
