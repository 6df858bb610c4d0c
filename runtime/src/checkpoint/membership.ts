// The slots that take part in checkpoints (docs/design/live-rescale.md §4 "Checkpoints", §5): the slots of
// the starting parallelism, then a slot that joins a running job (scale out) once its tasks are
// wired, and minus a slot that drained (scale in) once its final snapshot completed. Slots are
// numbered 0..n−1 at every moment: they join at the top and leave from the top.
//
// Invariant: a checkpoint keeps the members it was triggered with (`snapshot()` at its
// trigger): it waits for the acknowledgements of exactly those slots, records their number as
// its parallelism, and tells exactly those of its completion or abort. A slot that joins while
// it is pending never got its trigger and is not waited for; a slot that leaves while it is
// pending is still waited for (the caller lets a slot leave only when no checkpoint is pending:
// CheckpointCoordinator.exclusive).
import { TributaryError } from '../errors.ts';
import type { SlotCheckpointPort } from './messages.ts';

/** The members of one checkpoint, fixed at its trigger. */
export type Members = ReadonlyMap<number, SlotCheckpointPort>;

export class CheckpointMembership {
  private readonly ports = new Map<number, SlotCheckpointPort>();

  /** `initial[i]` is the port of slot i. */
  constructor(initial: readonly SlotCheckpointPort[]) {
    for (const [s, p] of initial.entries()) this.ports.set(s, p);
  }

  get size(): number {
    return this.ports.size;
  }

  /** The members now, for a checkpoint being triggered (a copy: later changes do not touch it). */
  snapshot(): Members {
    return new Map(this.ports);
  }

  /** Slot `slot` joins; the next checkpoint triggered waits for it. Slots join in order (the next one is `size`). */
  add(slot: number, port: SlotCheckpointPort): void {
    if (slot !== this.ports.size)
      throw new TributaryError(
        'TRIB_INVARIANT',
        `checkpoint membership: slot ${slot} cannot join: the next slot to join is ${this.ports.size}`,
      );
    this.ports.set(slot, port);
  }

  /** Slot `slot` leaves (its final snapshot completed); slots leave from the top. */
  remove(slot: number): void {
    if (slot !== this.ports.size - 1 || slot === 0)
      throw new TributaryError(
        'TRIB_INVARIANT',
        `checkpoint membership: slot ${slot} cannot leave: only the highest slot above 0 (${this.ports.size - 1}) can`,
      );
    this.ports.delete(slot);
  }
}
