// A Kafka partition moving between running source slots (live rescale,
// docs/runtime/live-rescale.md §3 item 6), its two halves on a slot's PartitionQueues and
// PartitionOffsets. At the step's barrier the old owner hands partition p over: what it fetched
// of p and never emitted is dropped and p is forgotten (no later snapshot of it records p), and
// what it gives is its position as of the barrier — the next offset to emit, what its snapshot at
// that barrier recorded — never its fetch position, which is past the records it fetched and did
// not emit (handing that over would lose them). The new owner takes p over at that position at
// once, so its next snapshot records p there even before a record of p is read, and then checks
// it against the log as a restored position is. Offsets below it were emitted by the old owner
// before the barrier, the others are emitted by the new owner after it: one slot emits each.
import type { Admin } from 'kafkajs';
import { TributaryError } from '../../errors.ts';
import type { HandedWatermark } from '../api.ts';
import { logOffsets } from './admin-lookups.ts';
import type { PartitionOffsets } from './partition-offsets.ts';
import type { PartitionQueues } from './partition-queues.ts';
import { checkWithinLog } from './start-positions.ts';

/** Partitions a slot handed over at a barrier: their positions then, and its consumer's restart without them. */
export interface HandedOver {
  /** Kafka partition → next offset to emit, as of the barrier. */
  positions: Map<number, bigint>;
  /** Settles once the slot's consumer reads without them. */
  restarted: Promise<void>;
  /** Their watermark floors (watermark-partitions.ts). */
  watermarks: Map<number, HandedWatermark>;
}

/** The old owner's half: drops `p`'s queued records and forgets it; returns its position (next offset to emit). */
export function handOver(queues: PartitionQueues, offsets: PartitionOffsets, p: number, name: string): bigint {
  const next = offsets.release(p);
  if (next === undefined)
    throw new TributaryError('TRIB_INVARIANT', `${name}: asked to hand over partition ${p}, which it does not own`);
  queues.drop(p);
  return next;
}

/** The new owner's half, before any check: `p` is owned from `next` on (its log end unknown yet: no lag). */
export function takeOver(offsets: PartitionOffsets, p: number, next: bigint, name: string): void {
  if (offsets.owns(p))
    throw new TributaryError('TRIB_INVARIANT', `${name}: asked to take over partition ${p}, which it owns already`);
  offsets.start(p, next, next);
}

/** The positions taken over, against the topic's log now (`checkWithinLog`, as a restored position is). */
export async function checkTakenOver(
  admin: Admin,
  source: string,
  topic: string,
  positions: ReadonlyMap<number, bigint>,
  from: string,
): Promise<void> {
  const logs = await logOffsets(admin, topic).catch((e: unknown) => {
    throw new TributaryError(
      'TRIB_CONNECTOR_FAILED',
      `source "${source}": cannot look up the offsets of topic ${topic}: ${(e as Error).message}`,
      { cause: e },
    );
  });
  for (const [p, next] of positions) {
    const o = logs.find((x) => x.partition === p);
    const log = { low: BigInt(o?.low ?? '0'), high: BigInt(o?.high ?? '0') };
    checkWithinLog(source, topic, p, next, log, from);
  }
}
