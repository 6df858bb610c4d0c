// A leaving slot's sources end (live rescale, scale in) only when they own no partition. The plan moved
// every partition they owned at its checkpoint, and they took none after (held: placement.ts,
// rescale-local.ts), so they own none — unless that rule was broken. A slot that left with a partition
// would take the partition's place in no later checkpoint: its records after the slot's final checkpoint
// would be read by no one until a remaining slot found the partition as new and read it again from its
// start (counted twice). So the rule is checked, not assumed: a leaving source that still owns a
// partition fails the scale in (TRIB_RESCALE_STEP_FAILED), and the job restarts from its last completed
// checkpoint, which records the partition at that slot's position.
import { TributaryError } from '../errors.ts';
import type { SlotParts } from '../exec/slot-builder.ts';

/** In slot `p`'s loop: ends its sources, or throws naming the partitions a source would leave with. */
export function endLeavingSources(p: SlotParts): void {
  for (const s of p.sources) {
    const owned = s.reader.ownedPartitions?.() ?? [];
    if (owned.length > 0)
      throw new TributaryError(
        'TRIB_RESCALE_STEP_FAILED',
        `slot ${p.slot.index} cannot leave: source "${s.sourceName}" still reads partition(s) ${owned.join(', ')}, ` +
          'which no step of the plan moved; the job restarts from its last completed checkpoint, which records them',
      );
  }
  for (const s of p.sources) s.requestStop(false);
}
