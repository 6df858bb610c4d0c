// How many records an aligned source asks its reader for. The source checks the drift between
// polls, so a poll must move a partition's watermark by at most about a quarter of maxDrift: a
// partition then overshoots its group's bound by that much at most, whatever the batch size (or
// by one record, when a single record spans more). How far a record moves a watermark is
// learnt from the polls themselves.
import type { PartitionWatermarks } from '../time/partition-watermarks.ts';
import { MIN_WATERMARK } from '../core/watermark.ts';

/** Records an aligned source polls before it knows how much event time a record spans. */
const FIRST_POLL = 64;

export class AlignedPollSize {
  private readonly wms: PartitionWatermarks;
  private readonly driftMs: number;
  /** How far a partition's watermark moves per record polled (EWMA over recent polls; 0: not known yet). */
  private msPerRecord = 0;
  /** Per partition: its watermark before the current poll and the records it gave in it. */
  private readonly spanFrom: number[] = [];
  private readonly spanCount: number[] = [];
  private readonly spanParts: number[] = [];

  constructor(wms: PartitionWatermarks, driftMs: number) {
    this.wms = wms;
    this.driftMs = driftMs;
  }

  /** Records to ask for in the next poll, at most `batchSize`. */
  next(batchSize: number): number {
    // Until the span is known (the first polls), small polls: a partition read before the others
    // have records is paused after FIRST_POLL records, not after a whole batch.
    if (this.msPerRecord <= 0) return Math.min(batchSize, FIRST_POLL);
    return Math.max(1, Math.min(batchSize, Math.floor(this.driftMs / 4 / this.msPerRecord)));
  }

  /** Counts a polled record of partition `p`, before its timestamp reaches the watermarks. */
  record(p: number): void {
    const c = this.spanCount[p];
    if (c === undefined || c === 0) {
      this.spanFrom[p] = this.wms.partitionWatermark(p);
      this.spanCount[p] = 1;
      this.spanParts.push(p);
    } else this.spanCount[p] = c + 1;
  }

  /**
   * Learns from the poll just pushed: the largest watermark advance per record of any partition,
   * divided by the partitions sharing the poll (the reader deals a poll out among them).
   * Watermark advance, not the poll's timestamp span: the latter counts how far apart the
   * partitions are, and disorder, and would shrink polls to a record each once partitions drift
   * apart by maxDrift or maxOutOfOrderness nears it.
   */
  learn(): void {
    let per = -1;
    const parts = this.spanParts;
    for (const p of parts) {
      const from = this.spanFrom[p] as number;
      if (from > MIN_WATERMARK)
        per = Math.max(per, (this.wms.partitionWatermark(p) - from) / (this.spanCount[p] as number));
      this.spanCount[p] = 0;
    }
    if (per >= 0) {
      per /= parts.length;
      // Floored above 0, which stands for "not known yet".
      this.msPerRecord = Math.max(1e-3, this.msPerRecord === 0 ? per : this.msPerRecord * 0.7 + per * 0.3);
    }
    parts.length = 0;
  }
}
