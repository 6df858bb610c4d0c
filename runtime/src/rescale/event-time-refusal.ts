// Why a job whose sources assign event time cannot rescale live ACROSS PROCESSES yet (refused before
// anything moves).
//
// A Kafka partition handed over at a step's barrier carries its watermark within one process
// (exec/watermark-handover.ts): the old owner keeps it as a floor under its watermark until the new
// owner, which starts the partition at that watermark, reports at a barrier that it caught up with it.
// Across processes neither the watermark (mig-positions) nor the report travel yet: the old owner's
// watermark would jump at once to the minimum over the partitions it keeps, and downstream the minimum
// over the channels could pass a window's end before the moved partition's records of that window
// arrive through the new owner (the operator's end-to-end test lost 12–62 records of a 1 s event-time
// window during a 2 → 3 scale out in about 1 run in 4). Until they do, a live rescale across processes
// refuses such jobs and a rescale goes through a savepoint, which restarts every watermark from the
// restored state.
import type { SourceSpec } from '../graph/spec.ts';

/** The refusal's reason for `sources`, or undefined when none assigns event time. */
export function eventTimeRefusal(sources: readonly Pick<SourceSpec, 'name' | 'timestamp'>[]): string | undefined {
  const s = sources.find((x) => x.timestamp !== undefined);
  return s
    ? `source "${s.name}" assigns event time: a Kafka partition moving between running slots does not carry ` +
        'its watermark yet, so records of it could turn late (rescale through a savepoint instead)'
    : undefined;
}
