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

import type { Admin } from 'kafkajs';
import { TributaryError } from '../../errors.ts';
import { logOffsets } from './admin-lookups.ts';

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

const RESET_HINT =
  'start the job without its saved positions (a new job, or a StreamJob with initialState: empty) to read the topic from its start';

/**
 * A position past the end of the partition's log cannot be the place to read from: the
 * topic was deleted and created again (a new log whose offsets start at 0 again) or its log
 * truncated. Seeking there would skip every record of the new log below it, silently.
 * `restored`: the position is the restored checkpoint's (else the source group's), or names
 * where it came from (a live rescale's hand-over).
 */
export function checkWithinLog(
  source: string,
  topic: string,
  partition: number,
  start: bigint,
  log: PartitionOffsets,
  restored: boolean | string,
): void {
  if (start <= log.high) return;
  const origin =
    typeof restored === 'string'
      ? restored
      : restored
        ? 'the restored checkpoint'
        : "the source group's committed offset";
  throw new TributaryError(
    'TRIB_SOURCE_POSITION_INVALID',
    `source "${source}": partition ${partition} of topic ${topic} ends at offset ${log.high}, before the position ` +
      `${start} it starts from (${origin}): the topic was deleted and created again, or its log truncated; ` +
      `reading on would skip its records below ${start}. To read it, ${RESET_HINT}`,
  );
}

/**
 * The topic a running source read from vanished and exists again: a new log, whose offsets
 * restart at 0 below the positions read in the old one. The source fails (throws) rather than
 * skip the new log's first records; its restart meets the same positions and fails at start too.
 */
export function recreatedTopic(
  source: string,
  topic: string,
  owned: readonly number[],
  positions: { accepted(p: number): bigint | undefined },
): void {
  const read = owned.flatMap((p) => {
    const o = positions.accepted(p) ?? 0n;
    return o > 0n ? [`partition ${p} at offset ${o}`] : [];
  });
  // Nothing read yet: the new log from its start is exactly what the source would read.
  if (read.length === 0) return;
  throw new TributaryError(
    'TRIB_SOURCE_POSITION_INVALID',
    `source "${source}": topic ${topic} was deleted and created again while the source read it (${read.join(', ')}): ` +
      `its new log restarts at offset 0, so its positions no longer say which records were read. To read it, ${RESET_HINT}`,
  );
}

/** Where each partition of `added` starts, checked against its log; `toCommit`: starts the group has no commit for. */
export async function startsOf(a: {
  admin: Admin;
  source: string;
  topic: string;
  added: readonly number[];
  /** Without checkpoints: the slot's consumer group. */
  group:
    | { groupId: string; committed(admin: Admin): Promise<{ offsets: Map<number, bigint>; legacy: Set<number> }> }
    | undefined;
  restored: ReadonlyMap<number, bigint> | undefined;
  startFrom: 'earliest' | 'latest';
  initial: boolean;
}): Promise<{ starts: { partition: number; start: bigint; high: bigint }[]; toCommit: Map<number, bigint> }> {
  const named = (what: string) => (e: unknown) => {
    throw new TributaryError(
      'TRIB_CONNECTOR_FAILED',
      `source "${a.source}": cannot look up ${what} of topic ${a.topic}: ${(e as Error).message}`,
      { cause: e },
    );
  };
  const starts: { partition: number; start: bigint; high: bigint }[] = [];
  const toCommit = new Map<number, bigint>();
  if (a.added.length === 0) return { starts, toCommit };
  const offsets = await logOffsets(a.admin, a.topic).catch(named('the offsets'));
  const group = a.group;
  const committed = group
    ? await group.committed(a.admin).catch(named(`group ${group.groupId}'s committed offsets`))
    : undefined;
  for (const p of a.added) {
    const o = offsets.find((x) => x.partition === p);
    const log = { low: BigInt(o?.low ?? '0'), high: BigInt(o?.high ?? '0') };
    const start = startOffset(p, log, {
      restored: a.restored,
      ...(committed ? { committed: committed.offsets } : {}),
      startFrom: a.startFrom,
      initial: a.initial,
    });
    checkWithinLog(a.source, a.topic, p, start, log, a.restored !== undefined);
    starts.push({ partition: p, start, high: log.high });
    if (!committed?.offsets.has(p) || committed.legacy.has(p)) toCommit.set(p, start);
  }
  return { starts, toCommit };
}
