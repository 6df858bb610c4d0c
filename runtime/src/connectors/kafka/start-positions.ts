// Where a Kafka source slot starts reading a partition it begins to own (at open, when a
// missing topic appears, or when partitions are added to a running topic). Every position
// is explicit (the consumer is sought to it), so a consumer replaced to take new partitions
// resumes exactly where the old one stopped.
//
// A partition the restored checkpoint does not know, while that checkpoint knows the topic,
// appeared after it: it starts at its earliest offset (Flink's KafkaSource does the same), so
// records read from it before a failure are read again after the restore. The same holds
// for partitions found after the source opened (the topic was created later, or grew):
// everything in them is newer than the job. `startFrom` applies only to partitions that
// existed when the source opened and that nothing else positions.

export interface PartitionOffsets {
  /** Earliest offset still in the log. */
  readonly low: bigint;
  /** Next offset to be written (the end of the log). */
  readonly high: bigint;
}

export interface StartRules {
  /**
   * The restored checkpoint's offsets for this topic (partition → next offset to read),
   * merged over all its slots; undefined when there is no checkpoint or it does not know
   * the topic.
   */
  readonly restored: ReadonlyMap<number, bigint> | undefined;
  /** Without checkpoints: the offsets the slot's consumer group committed (absent = none). */
  readonly committed?: ReadonlyMap<number, bigint>;
  readonly startFrom: 'earliest' | 'latest';
  /** The partition existed when the source opened (else it appeared later). */
  readonly initial: boolean;
}

export function startOffset(partition: number, log: PartitionOffsets, r: StartRules): bigint {
  if (r.restored) return r.restored.get(partition) ?? log.low;
  const committed = r.committed?.get(partition);
  if (committed !== undefined) return committed;
  return r.initial && r.startFrom === 'latest' ? log.high : log.low;
}

/**
 * The offsets of `topic` in the restored positions (one per slot of the checkpointed job,
 * each `{kind: 'kafka', topic, offsets: {partition: offset}}`), merged; undefined when none
 * of them is about this topic.
 */
export function restoredOffsets(
  positions: readonly unknown[] | undefined,
  topic: string,
): Map<number, bigint> | undefined {
  let out: Map<number, bigint> | undefined;
  for (const pos of positions ?? []) {
    const k = pos as { kind?: string; topic?: string; offsets?: Record<string, string> } | null;
    if (k?.kind !== 'kafka' || k.topic !== topic || !k.offsets) continue;
    out ??= new Map();
    for (const [part, off] of Object.entries(k.offsets)) out.set(Number(part), BigInt(off));
  }
  return out;
}
