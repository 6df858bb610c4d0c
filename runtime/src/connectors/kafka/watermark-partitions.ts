// A Kafka source slot's watermark partitions (SourceReaderContext.addPartition): one per Kafka
// partition it owns, declared in the slot's loop (at its next poll) once the partition is
// owned, and one idle marker while it owns none of an existing topic, so an empty slot does
// not hold the watermark back. A partition handed over to another slot (live rescale) leaves
// its watermark partition idle for good: it gets no record here again, and must not hold back
// the watermark of the partitions this slot keeps; taken back later, it gets a new one.
import type { SourceReaderContext } from '../api.ts';

export class WatermarkPartitions {
  /** Kafka partition → watermark partition index. */
  readonly index = new Map<number, number>();
  /** Owned Kafka partitions not declared yet. */
  private undeclared: number[] = [];
  private idleMarker: number | undefined;

  /** Kafka partitions to declare at the next poll. */
  add(partitions: readonly number[]): void {
    this.undeclared.push(...partitions);
  }

  /** Kafka partition `p` leaves the slot: its watermark partition (if declared) idles for good. */
  remove(ctx: SourceReaderContext, p: number): void {
    this.undeclared = this.undeclared.filter((q) => q !== p);
    const idx = this.index.get(p);
    if (idx === undefined) return;
    this.index.delete(p);
    ctx.idlePartition(idx);
  }

  /**
   * In the slot's loop: declares the partitions added since (`ended`: a bounded partition with
   * nothing to read, finished at once), and the idle marker when `empty` (owning none).
   */
  declare(ctx: SourceReaderContext, ended: (p: number) => boolean, empty: boolean): void {
    for (const p of this.undeclared) {
      const idx = ctx.addPartition();
      this.index.set(p, idx);
      if (ended(p)) ctx.finishPartition(idx);
    }
    this.undeclared = [];
    if (empty && this.idleMarker === undefined) {
      this.idleMarker = ctx.addPartition();
      ctx.idlePartition(this.idleMarker);
    }
  }

  /** Kafka partitions whose watermark partitions are in `pausedIdx`. */
  paused(pausedIdx: ReadonlySet<number>): number[] {
    const paused: number[] = [];
    for (const [p, idx] of this.index) if (pausedIdx.has(idx)) paused.push(p);
    return paused;
  }
}
