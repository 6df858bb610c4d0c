// Which partitions of a Kafka source are caught up, for watermark alignment: a caught-up
// partition does not hold its alignment group back (the source reports each change through
// SourceReaderContext.partitionCaughtUp).
// Invariants, decided after each poll: a partition is caught up when nothing of it is queued and
// it was fetched up to its log end. One with queued records keeps its state until a record of it
// is returned, so a caught-up partition rejoins its group with its next record's watermark, not
// with the older one it had. Only changes are reported.

export interface PartitionProgress {
  /** Records of Kafka partition `p` queued, not yet polled. */
  queuedOf(p: number): number;
  /** Kafka partition `p` was fetched up to its log end. */
  fetchedToEnd(p: number): boolean;
}

export class CaughtUpPartitions {
  /**
   * Kafka partitions reported caught up, with the index reported: a partition handed over and
   * taken back (live rescale) has a new index, not caught up until reported so.
   */
  private readonly up = new Map<number, number>();
  /** Kafka partitions a record was returned from in the current poll. */
  private readonly tookFrom = new Set<number>();

  /** The current poll returned a record of Kafka partition `p`. */
  took(p: number): void {
    this.tookFrom.add(p);
  }

  /**
   * After a poll: reports every partition of `partIndex` (Kafka partition → the source's
   * partition index) whose state changed.
   */
  afterPoll(
    partIndex: ReadonlyMap<number, number>,
    progress: PartitionProgress,
    report: (idx: number, caughtUp: boolean) => void,
  ): void {
    for (const [p, idx] of partIndex) {
      const queued = progress.queuedOf(p) > 0;
      if (queued && !this.tookFrom.has(p)) continue;
      const up = !queued && progress.fetchedToEnd(p);
      if (up === (this.up.get(p) === idx)) continue;
      if (up) this.up.set(p, idx);
      else this.up.delete(p);
      report(idx, up);
    }
    this.tookFrom.clear();
  }
}
