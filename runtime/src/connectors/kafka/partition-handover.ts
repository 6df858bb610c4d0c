// A Kafka partition moving between running source slots (live rescale,
// docs/design/live-rescale.md §3 item 6), its two halves on a slot's PartitionQueues and
// PartitionOffsets. At the step's barrier the old owner hands partition p over: what it fetched
// of p and never emitted is dropped and p is forgotten (no later snapshot of it records p), and
// what it gives is its position as of the barrier — the next offset to emit, what its snapshot at
// that barrier recorded — never its fetch position, which is past the records it fetched and did
// not emit (handing that over would lose them). The new owner takes p over at that position at
// once, so its next snapshot records p there even before a record of p is read, and then checks
// it against the log as a restored position is. Offsets below it were emitted by the old owner
// before the barrier, the others are emitted by the new owner after it: one slot emits each.
import type { Admin } from 'kafkajs';
import type { Logger } from 'pino';
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

/** The old owner's half: drops each partition's queued records, forgets it; returns the positions (next to emit). */
export function handOver(
  queues: PartitionQueues,
  offsets: PartitionOffsets,
  parts: readonly number[],
  name: string,
  logger: Logger,
): Map<number, bigint> {
  const positions = new Map<number, bigint>();
  for (const p of parts) {
    const next = offsets.release(p);
    if (next === undefined)
      throw new TributaryError('TRIB_INVARIANT', `${name}: asked to hand over partition ${p}, which it does not own`);
    queues.drop(p);
    positions.set(p, next);
  }
  logger.info({ source: name, positions: logged(positions) }, 'kafka source: partitions handed over');
  return positions;
}

/** The new owner's half, before any check: each partition owned from its position on (log end unknown: no lag). */
export function takeOver(
  offsets: PartitionOffsets,
  positions: ReadonlyMap<number, bigint>,
  name: string,
  from: string,
  logger: Logger,
): void {
  for (const [p, next] of positions) {
    if (offsets.owns(p))
      throw new TributaryError('TRIB_INVARIANT', `${name}: asked to take over partition ${p}, which it owns already`);
    offsets.start(p, next, next);
  }
  logger.info({ source: name, positions: logged(positions), from }, 'kafka source: partitions taken over');
}

const logged = (positions: ReadonlyMap<number, bigint>): Record<string, string> =>
  Object.fromEntries([...positions].map(([p, next]) => [p, String(next)]));

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
