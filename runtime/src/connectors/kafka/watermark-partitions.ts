// A Kafka source slot's watermark partitions (SourceReaderContext.addPartition): one per Kafka
// partition it owns, declared in the slot's loop (at its next poll) once the partition is
// owned, and one idle marker while it owns none of an existing topic, so an empty slot does
// not hold the watermark back. A partition handed over to another slot (live rescale) gets no
// record here again: its watermark partition stays as a floor under this slot's watermark until
// the new owner, which starts it at that watermark, has caught up with it (exec/watermark-handover.ts),
// then idles for good; taken back later, it gets a new one.
import type { HandedWatermark, SourceReaderContext, TakenWatermark } from '../api.ts';

export class WatermarkPartitions {
  /** Kafka partition → watermark partition index. */
  readonly index = new Map<number, number>();
  /** Owned Kafka partitions not declared yet. */
  private undeclared: number[] = [];
  private idleMarker: number | undefined;
  /** Taken-over partitions not declared yet: their old owner's watermark. */
  private readonly taken = new Map<number, TakenWatermark>();

  /** Kafka partitions to declare at the next poll (`taken`: those a live rescale moved here). */
  add(partitions: readonly number[], taken?: ReadonlyMap<number, TakenWatermark>): void {
    this.undeclared.push(...partitions);
    for (const [p, t] of taken ?? []) this.taken.set(p, t);
  }

  /**
   * Kafka partition `p` leaves the slot: its watermark partition (if declared) becomes a floor
   * (a context without floors: idles for good at once). Undeclared, it held nothing back here.
   */
  remove(ctx: SourceReaderContext, p: number): HandedWatermark | undefined {
    this.undeclared = this.undeclared.filter((q) => q !== p);
    const t = this.taken.get(p);
    this.taken.delete(p);
    const idx = this.index.get(p);
    if (idx === undefined) return t && { watermark: t.watermark, releaseAt: (b) => t.caughtUp(b) };
    this.index.delete(p);
    if (ctx.floorPartition) return ctx.floorPartition(idx);
    ctx.idlePartition(idx);
    return undefined;
  }

  /** `remove` of each of `parts`: the watermark floors they leave. */
  removeAll(ctx: SourceReaderContext, parts: readonly number[]): Map<number, HandedWatermark> {
    const floors = new Map<number, HandedWatermark>();
    for (const p of parts) {
      const w = this.remove(ctx, p);
      if (w) floors.set(p, w);
    }
    return floors;
  }

  /**
   * In the slot's loop: declares the partitions added since (`ended`: a bounded partition with
   * nothing to read, finished at once), and the idle marker when `empty` (owning none).
   */
  declare(ctx: SourceReaderContext, ended: (p: number) => boolean, empty: boolean): void {
    for (const p of this.undeclared) {
      const t = this.taken.get(p);
      this.taken.delete(p);
      const idx = ctx.addPartition(t?.watermark);
      if (t) ctx.reportCaughtUp?.(idx, (b) => t.caughtUp(b));
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
