// Per-partition event time inside one source instance: a bounded-out-of-orderness
// generator per partition, idleness per partition, and a valve that emits the minimum over
// the partitions that are not idle. A finished partition's watermark is +∞. A caught-up
// partition (its reader has nothing left to read for it right now) keeps its place in the
// watermark but not in watermark alignment: it does not hold its alignment group back. A
// floor (a partition handed over in a live rescale, until its new owner has caught up with it)
// keeps its last watermark in the valve: no record comes for it, it never idles by timeout and
// it is left out of alignment (it must not hold its group back for ever).
import { BoundedOutOfOrderness } from './bounded-out-of-orderness.ts';
import { WatermarkValve, type ValveOutput } from './watermark-valve.ts';
import { MAX_WATERMARK, MIN_WATERMARK } from '../core/watermark.ts';

export class PartitionWatermarks {
  private readonly boundMs: number;
  private readonly idleTimeoutMs: number | undefined;
  private readonly gens: BoundedOutOfOrderness[] = [];
  private readonly lastActivity: number[] = [];
  private readonly idle: boolean[] = [];
  private readonly finished: boolean[] = [];
  private readonly caughtUp: boolean[] = [];
  private readonly floor: boolean[] = [];
  /** Where each partition's watermark started (MIN_WATERMARK unless taken over in a live rescale). */
  private readonly seeds: number[] = [];
  private readonly valve: WatermarkValve;
  /** Released floors: idle for good and referred to by no reader, free for addPartition. */
  private readonly released: number[] = [];
  private maxTs = Number.NEGATIVE_INFINITY;

  constructor(boundMs: number, idleTimeoutMs: number | undefined, out: ValveOutput) {
    this.boundMs = boundMs;
    this.idleTimeoutMs = idleTimeoutMs;
    this.valve = new WatermarkValve(0, out);
  }

  /**
   * `seed`: the partition's watermark to start from (a partition taken over in a live rescale).
   * Reuses the index of a released floor (no one refers to it again), so partitions moving back
   * and forth in live rescales do not grow this source's partitions and valve channels.
   */
  addPartition(now: number, seed?: number): number {
    const gen = new BoundedOutOfOrderness(this.boundMs);
    if (seed !== undefined) gen.seed(seed);
    const reused = this.released.pop();
    if (reused !== undefined) this.valve.resetChannel(reused);
    const p = reused ?? this.valve.addChannel();
    this.gens[p] = gen;
    this.floor[p] = false;
    this.seeds[p] = seed ?? MIN_WATERMARK;
    this.lastActivity[p] = now;
    this.idle[p] = false;
    this.finished[p] = false;
    this.caughtUp[p] = false;
    return p;
  }

  get partitionCount(): number {
    return this.gens.length;
  }

  /** Records a timestamp; the watermark is published by `emit`. */
  onRecord(partition: number, ts: number, now: number): void {
    (this.gens[partition] as BoundedOutOfOrderness).onEvent(ts);
    if (ts > this.maxTs) this.maxTs = ts;
    this.lastActivity[partition] = now;
    if (this.idle[partition]) {
      this.idle[partition] = false;
      this.valve.inputIdle(partition, false);
    }
  }

  /**
   * Ingestion time (records stamped with the clock): every record still to come is stamped
   * at or after `now`, so each active partition's watermark may follow the clock while no
   * record arrives (Flink's IngestionTimeWatermarkGenerator).
   */
  advanceClock(now: number): void {
    for (let p = 0; p < this.gens.length; p++)
      if (!this.idle[p] && !this.finished[p]) (this.gens[p] as BoundedOutOfOrderness).onEvent(now);
  }

  /**
   * The watermark `emit` would publish now, as of the records seen so far: the minimum over
   * active partitions that have caught up with the last published watermark (the valve's
   * rule; a partition added behind it can make this an overestimate, never an underestimate).
   */
  current(): number {
    const out = this.valve.watermark;
    let min = Number.POSITIVE_INFINITY;
    for (let p = 0; p < this.gens.length; p++) {
      if (this.idle[p]) continue;
      const c = this.finished[p] ? MAX_WATERMARK : (this.gens[p] as BoundedOutOfOrderness).current();
      if (c >= out && c < min) min = c;
    }
    return min === Number.POSITIVE_INFINITY ? out : min;
  }

  /** An upper bound of `current()` in O(1): the newest timestamp of any partition − bound − 1. */
  get upperBound(): number {
    return this.maxTs - this.boundMs - 1;
  }

  /** Pushes each partition's current watermark into the valve and re-evaluates idleness. */
  emit(now: number): void {
    for (let p = 0; p < this.gens.length; p++) {
      if (this.finished[p]) continue;
      if (!this.idle[p]) this.valve.inputWatermark(p, (this.gens[p] as BoundedOutOfOrderness).current());
      if (
        this.idleTimeoutMs !== undefined &&
        !this.idle[p] &&
        !this.floor[p] &&
        now - (this.lastActivity[p] as number) > this.idleTimeoutMs
      ) {
        this.idle[p] = true;
        this.valve.inputIdle(p, true);
      }
    }
  }

  /**
   * A finished partition has no more records: its watermark is +∞ (Flink: a finished source
   * emits MAX_WATERMARK), so it never holds back the others and, unlike an idle one, never
   * makes the slot report idle — downstream keeps waiting for this slot's final watermark
   * instead of moving on without it while its operators still hold records.
   */
  finishPartition(p: number): void {
    if (this.finished[p]) return;
    this.finished[p] = true;
    if (this.idle[p]) {
      this.idle[p] = false;
      this.valve.inputIdle(p, false);
    }
    this.valve.inputWatermark(p, MAX_WATERMARK);
  }

  /**
   * Whether partition `p` is caught up: every record its input holds now has been read (a Kafka
   * partition fetched to its log end, nothing queued). Alignment leaves it out of the source's
   * minimum (Flink leaves idle splits out) — a partition that may never get another record must
   * not stop the others after maxDrift of event time — while its watermark still counts for
   * lateness. Its reader clears the flag when it reads its next record, so the partition rejoins
   * with the watermark that record gives it.
   */
  setCaughtUp(p: number, caughtUp: boolean): void {
    this.caughtUp[p] = caughtUp;
  }

  /** The watermark of partition `p` alone (MIN_WATERMARK before its first record). */
  partitionWatermark(p: number): number {
    return (this.gens[p] as BoundedOutOfOrderness).current();
  }

  /** A partition with no data for now (e.g. a slot that owns none yet): idle until it has a record. */
  idlePartition(p: number): void {
    if (!this.idle[p] && !this.finished[p]) {
      this.valve.inputWatermark(p, (this.gens[p] as BoundedOutOfOrderness).current());
      this.idle[p] = true;
      this.valve.inputIdle(p, true);
    }
  }

  /**
   * Live rescale, the old owner of partition `p` at the hand-over: `p` gets no record here again
   * but keeps its watermark as a floor under this source's until `releaseFloor`, so this source's
   * channels cannot pass what the new owner still has to emit of `p`. Returns that watermark.
   */
  floorPartition(p: number): number {
    if (!this.idle[p] && !this.finished[p]) this.floor[p] = true;
    return this.finished[p] ? MAX_WATERMARK : (this.gens[p] as BoundedOutOfOrderness).current();
  }

  /** A partition handed over is still kept as a floor (its new owner has not caught up with it). */
  get holdsFloor(): boolean {
    return this.floor.includes(true);
  }

  /** The floor of `p` is no longer needed: it idles for good (it holds nothing back); addPartition may reuse `p`. */
  releaseFloor(p: number): void {
    if (!this.floor[p]) return;
    this.floor[p] = false;
    this.idlePartition(p);
    this.released.push(p);
  }

  /**
   * Live rescale, the new owner of partition `p`: `p` no longer needs its old owner's floor — it
   * is idle or finished, or this source's output is active and between `p`'s seed and `p`'s own
   * watermark. At or above the seed, downstream counts this source's channels (a channel that comes
   * back below its consumer's watermark counts only once it catches up, and the floor held that
   * watermark at or below the seed); at or below `p`'s watermark, what this source emits of `p`
   * from now on is late downstream only if it is late at `p`.
   */
  caughtUpWithOutput(p: number): boolean {
    if (this.idle[p] || this.finished[p]) return true;
    const out = this.valve.watermark;
    if (this.valve.isIdle || out < (this.seeds[p] as number)) return false;
    return (this.gens[p] as BoundedOutOfOrderness).current() >= out;
  }

  get watermark(): number {
    return this.valve.watermark;
  }

  /**
   * What this source reports to its alignment group: the minimum over partitions that are
   * neither idle, finished nor caught up; −∞ before any partition is declared (a reader still
   * opening holds the group back), +∞ when every partition is idle, finished or caught up (it
   * holds nothing back).
   */
  alignmentWatermark(): number {
    if (this.gens.length === 0) return MIN_WATERMARK;
    let min = MAX_WATERMARK;
    for (let p = 0; p < this.gens.length; p++) {
      if (this.idle[p] || this.finished[p] || this.caughtUp[p] || this.floor[p]) continue;
      const c = (this.gens[p] as BoundedOutOfOrderness).current();
      if (c < min) min = c;
    }
    return min;
  }

  /**
   * Partitions to pause: those not finished whose own watermark is above `maxAllowed`. A
   * paused partition's silence is not idleness: it counts as active (`now`).
   */
  aheadOf(maxAllowed: number, now: number, out: Set<number>): void {
    out.clear();
    for (let p = 0; p < this.gens.length; p++) {
      if (this.finished[p] || this.idle[p] || this.floor[p]) continue;
      if ((this.gens[p] as BoundedOutOfOrderness).current() > maxAllowed) {
        out.add(p);
        this.lastActivity[p] = now;
      }
    }
  }

  /** True when every partition is finished or in `paused` (nothing to read now). */
  allPaused(paused: ReadonlySet<number>): boolean {
    if (paused.size === 0) return false;
    for (let p = 0; p < this.gens.length; p++) if (!this.finished[p] && !paused.has(p)) return false;
    return true;
  }

  /** The newest timestamp seen on any partition (−∞ before the first record). */
  get newest(): number {
    return this.maxTs;
  }
}
