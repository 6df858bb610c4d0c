// Where a slot process's Kafka sources place partitions they find while slot 0 rescales the job live
// across threads, processes or pods (rescale/placement-rpc.ts; docs/design/live-rescale.md §5). The rule
// in one process is rescale-local.ts's, and the same here:
// - from before the plan's checkpoint until the rescale is done, no slot takes a found partition by
//   itself: held (a joining slot is held from its start). What a slot owns when it answers `mig-held`
//   is in the plan's checkpoint, so the plan moves it to its owner at the target; a leaving slot thus
//   never takes a partition it would leave with, and the remaining ones need not know who left;
// - once done, every slot of the job places found partitions by the owner rule at the job's parallelism
//   (`mig-place`), the rule a restart at it applies — never before the last step: a slot placing by the
//   target's rule early would take a partition a later step still moves to it from its reader.
// A slot that does not answer `mig-hold` within the bound refuses the rescale (TRIB_RESCALE_UNSUPPORTED)
// before anything moved; the caller fails the job then (rescale-driver.ts), and a restart places by
// the recorded parallelism. A lost `mig-place` leaves that slot holding: slot 0's unowned-partitions
// alarm (exec/unowned-partitions.ts) reports what nobody reads.
import type { Logger } from 'pino';
import { TributaryError } from '../errors.ts';
import { inSources } from './in-sources.ts';
import type { PlacementRpc } from './placement-rpc.ts';
import type { SlotParts } from '../exec/slot-builder.ts';

export interface SlotPlacementOptions {
  slot: number;
  /** To slot `slot` of another thread or process; false when its link is down. */
  sendControl(slot: number, msg: PlacementRpc): boolean;
  /** This process's slots of the running job (none before it is built). */
  localSlots(): readonly SlotParts[];
  /** The bound on the answers to `mig-hold` (the checkpoint timeout). */
  timeoutMs: number;
  logger: Logger;
}

/** One `mig-hold` round of slot 0: settles once every asked slot held, or with why not. */
class HoldRound {
  private static next = 1;
  readonly id = HoldRound.next++;
  readonly held: Promise<void>;
  private readonly missing: Set<number>;
  private finish: (e?: TributaryError) => void = () => undefined;

  constructor(slots: readonly number[], timeoutMs: number) {
    this.missing = new Set(slots);
    this.held = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const late = [...this.missing].sort((a, b) => a - b).join(', ');
        this.finish(
          new TributaryError(
            'TRIB_RESCALE_UNSUPPORTED',
            `live rescale: slot ${late} did not hold new partitions (mig-hold) within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.finish = (e) => {
        clearTimeout(timer);
        if (e) reject(e);
        else resolve();
      };
    });
    if (this.missing.size === 0) this.finish();
  }

  answered(msg: Extract<PlacementRpc, { m: 'mig-held' }>): void {
    if (msg.id !== this.id || !this.missing.delete(msg.slot)) return;
    if (msg.error !== undefined)
      this.finish(
        new TributaryError('TRIB_RESCALE_UNSUPPORTED', `live rescale: slot ${msg.slot} cannot hold: ${msg.error}`),
      );
    else if (this.missing.size === 0) this.finish();
  }
}

export class SlotPlacement {
  private readonly o: SlotPlacementOptions;
  private round: HoldRound | undefined;

  constructor(o: SlotPlacementOptions) {
    this.o = o;
  }

  /** Slot 0: slots `slots` hold new partitions; resolves once each did (bounded), else rejects naming the slots. */
  async hold(slots: readonly number[]): Promise<void> {
    const round = new HoldRound(slots, this.o.timeoutMs);
    this.round = round;
    for (const s of slots) this.send(s, { m: 'mig-hold', id: round.id });
    try {
      await round.held;
    } finally {
      if (this.round === round) this.round = undefined;
    }
  }

  /** Slot 0: slots `slots` place new partitions by the owner rule at `parallelism` from now on. */
  place(slots: readonly number[], parallelism: number): void {
    for (const s of slots) this.send(s, { m: 'mig-place', parallelism });
  }

  receive(from: number, msg: PlacementRpc): void {
    switch (msg.m) {
      case 'mig-hold':
        inSources(this.o.localSlots(), (r) => r.holdNewPartitions?.()).then(
          () => this.send(from, { m: 'mig-held', id: msg.id, slot: this.o.slot }),
          (e: unknown) => this.send(from, { m: 'mig-held', id: msg.id, slot: this.o.slot, error: String(e) }),
        );
        break;
      case 'mig-held':
        this.round?.answered(msg);
        break;
      case 'mig-place':
        void inSources(this.o.localSlots(), (r) => r.placeNewPartitions?.(msg.parallelism));
        this.o.logger.info(
          { slot: this.o.slot, parallelism: msg.parallelism },
          'live rescale: new partitions placed by the job parallelism',
        );
        break;
    }
  }

  private send(slot: number, msg: PlacementRpc): void {
    if (slot === this.o.slot) {
      queueMicrotask(() => this.receive(slot, msg));
      return;
    }
    if (!this.o.sendControl(slot, msg))
      this.o.logger.warn({ to: slot, m: msg.m }, 'placement message not sent: link to the slot is down');
  }
}

/** Slots 0..n−1. */
const slotsBelow = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * Slot 0: `rescale` (the job from its parallelism now to `to`) with every running slot holding new partitions
 * from before it plans, and every slot of the job placing them by the rule at `to` once it is done. One that
 * fails places them at the job's parallelism then: refused before anything moved, the job runs on as it was.
 */
export async function placedAcross<T>(
  p: Pick<SlotPlacement, 'hold' | 'place'>,
  parallelism: () => number,
  to: number,
  rescale: () => Promise<T>,
): Promise<T> {
  const back = (): void => p.place(slotsBelow(parallelism()), parallelism());
  try {
    await p.hold(slotsBelow(parallelism()));
    const done = await rescale();
    p.place(slotsBelow(to), to);
    return done;
  } catch (e) {
    back();
    throw e;
  }
}
