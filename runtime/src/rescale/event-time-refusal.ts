// Why a job whose sources assign event time cannot rescale live yet (refused before anything moves).
//
// A Kafka partition handed over at a step's barrier leaves the old owner's source watermark at once
// (its watermark partition idles for good: connectors/kafka/watermark-partitions.ts), so that slot's
// watermark jumps to the minimum over the partitions it keeps. The new owner reads the partition from
// the handed-over position, but its own channel watermark may already be past those records' times (or,
// for a joining slot, it is idle until it reads): downstream the minimum over the channels can pass a
// window's end before the moved partition's records of that window arrive, and they are dropped as
// late. Found by the operator's end-to-end test (a 1 s event-time window lost 12–62 records of the
// window open during a 2 → 3 scale out in about 1 run in 4). Until a moved partition's watermark holds
// the old owner back until the new owner's watermark covers it, live rescale refuses such jobs and a
// rescale goes through a savepoint, which restarts every watermark from the restored state.
import type { SourceSpec } from '../graph/spec.ts';

/** The refusal's reason for `sources`, or undefined when none assigns event time. */
export function eventTimeRefusal(sources: readonly Pick<SourceSpec, 'name' | 'timestamp'>[]): string | undefined {
  const s = sources.find((x) => x.timestamp !== undefined);
  return s
    ? `source "${s.name}" assigns event time: a Kafka partition moving between running slots does not carry ` +
        'its watermark yet, so records of it could turn late (rescale through a savepoint instead)'
    : undefined;
}
