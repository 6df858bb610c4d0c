// Offsets of a Kafka source slot's partitions: the checkpointed position ("next offset to
// emit"), the next offset accepted from the consumer (records below it are re-deliveries
// before a seek took effect and are dropped), the log end of the latest fetch (for lag, and to
// tell a partition fetched up to its end: caught up) and, in bounded mode, the end offset each
// partition is read up to.

export class PartitionOffsets {
  private readonly bounded: boolean;
  /** Next offset to emit per owned partition (the checkpointed position). */
  private readonly position = new Map<number, bigint>();
  /** Next offset accepted from the consumer per partition (drops re-deliveries before a seek). */
  private readonly acceptedFrom = new Map<number, bigint>();
  /** The log end last seen per partition: at its start, then reported by every fetch. */
  private readonly logEnd = new Map<number, bigint>();
  /** Bounded mode: Kafka partition → end offset (exclusive), removed once reached. */
  private readonly endOffsets = new Map<number, bigint>();

  /** Partitions of the topic in all, as last discovered (0 until the topic exists). */
  topicPartitions = 0;

  constructor(bounded: boolean) {
    this.bounded = bounded;
  }

  /** Starts reading `p` at `start`; `logHigh`: its log end now (a bounded read stops there). */
  start(p: number, start: bigint, logHigh: bigint): void {
    this.position.set(p, start);
    this.acceptedFrom.set(p, start);
    this.logEnd.set(p, logHigh);
    if (this.bounded && logHigh > start) this.endOffsets.set(p, logHigh);
  }

  /**
   * `p` leaves this slot (live rescale): forgotten, so no later snapshot records it. Returns
   * its position — the next offset to emit, what a snapshot now records — never the fetch
   * position (`accepted`), which is past the records fetched and not emitted; undefined when
   * `p` is not owned.
   */
  release(p: number): bigint | undefined {
    const next = this.position.get(p);
    this.position.delete(p);
    this.acceptedFrom.delete(p);
    this.logEnd.delete(p);
    this.endOffsets.delete(p);
    return next;
  }

  owns(p: number): boolean {
    return this.position.has(p);
  }

  /** Bounded mode: whether `p` has records left to read up to its end offset. */
  hasEnd(p: number): boolean {
    return this.endOffsets.has(p);
  }

  /** Bounded mode: every partition read up to its end. */
  get allEnded(): boolean {
    return this.endOffsets.size === 0;
  }

  accepted(p: number): bigint | undefined {
    return this.acceptedFrom.get(p);
  }

  setAccepted(p: number, next: bigint): void {
    this.acceptedFrom.set(p, next);
  }

  setHighWatermark(p: number, hw: bigint): void {
    this.logEnd.set(p, hw);
  }

  /**
   * Whether every offset of `p` up to the log end last seen has been fetched. Under
   * read_committed a partition whose end is an open transaction is not: its records may
   * still come (or be aborted).
   */
  fetchedToEnd(p: number): boolean {
    const next = this.acceptedFrom.get(p);
    const end = this.logEnd.get(p);
    return next !== undefined && end !== undefined && next >= end;
  }

  /**
   * Entry `offset` of partition `p` was taken from its queue: the position moves past it. In
   * bounded mode, reaching or passing the end finishes the partition (`finished`; the offset
   * just before it may be a transaction marker, never delivered, with later records fetched in
   * the same batch) and only offsets before the end are emitted (`emit`).
   */
  passed(p: number, offset: bigint): { emit: boolean; finished: boolean } {
    if (!this.bounded) {
      if (this.position.has(p)) this.position.set(p, offset + 1n);
      return { emit: true, finished: false };
    }
    // The position stops at the end: records fetched past it are not emitted, so not passed.
    const end = this.endOffsets.get(p);
    if (end === undefined) return { emit: false, finished: false };
    if (this.position.has(p)) this.position.set(p, offset < end ? offset + 1n : end);
    const finished = offset + 1n >= end;
    if (finished) this.endOffsets.delete(p);
    return { emit: offset < end, finished };
  }

  snapshot(topic: string): { kind: 'kafka'; topic: string; offsets: Record<string, string> } {
    const offsets: Record<string, string> = {};
    for (const [p, off] of this.position) offsets[String(p)] = off.toString();
    return { kind: 'kafka', topic, offsets };
  }

  /** The slot's share of the topic (SourceReader.partitionLoad). */
  load(): { partitions: number; assigned: number; lag: number } {
    return { partitions: this.topicPartitions, assigned: this.position.size, lag: this.lag() };
  }

  /**
   * Records between the position and the log end last seen (at the partition's start, then the
   * latest fetch's high watermark), over the owned partitions: before its first fetch a
   * partition's lag is what was there to read when it started.
   */
  lag(): number {
    let lag = 0n;
    for (const [p, hw] of this.logEnd) {
      const pos = this.position.get(p) ?? hw;
      if (hw > pos) lag += hw - pos;
    }
    return Number(lag);
  }
}
