// A slot that leaves in a scale in must not end its sources while it still keeps a moved partition's
// watermark as a floor (exec/watermark-handover.ts, floors-across.ts): an ended channel holds no
// watermark downstream, so ending it drops the floor before the partition's new owner caught up —
// the jump the floor exists to prevent, and records of the partition the new owner still has to emit
// turn late. So the drain first waits, with the slot's sources still running and injecting barriers
// (the floor goes at a barrier), until its slots hold no floor any more; bounded by `timeoutMs`
// (TRIB_RESCALE_STEP_FAILED: the rescale fails, and with it the job, rather than lose records).
import { TributaryError } from '../errors.ts';
import type { LiveMigration } from './migration.ts';
import type { SlotParts } from '../exec/slot-builder.ts';

const CHECK_EVERY_MS = 20;

/** Whether any of `slots` keeps a watermark floor (read in each slot's loop). */
async function holding(slots: readonly SlotParts[], migration: LiveMigration | undefined): Promise<number[]> {
  const held = new Set<number>();
  const inLoop = (p: SlotParts): Promise<void> =>
    new Promise((resolve) =>
      p.slot.post(() => {
        if (p.sources.some((s) => s.wms.holdsFloor)) held.add(p.slot.index);
        resolve();
      }),
    );
  await Promise.all(slots.map(inLoop));
  for (const p of slots) if (migration?.remoteFloors.holds(p.slot.index)) held.add(p.slot.index);
  return [...held];
}

/** Resolves once none of `slots` keeps a floor; rejects after `timeoutMs`. */
export async function floorsReleased(
  slots: readonly SlotParts[],
  migration: LiveMigration | undefined,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const held = await holding(slots, migration);
    if (held.length === 0) return;
    if (Date.now() >= deadline)
      throw new TributaryError(
        'TRIB_RESCALE_STEP_FAILED',
        `live rescale: slot ${held.join(', ')} still keeps the watermark of a partition it handed over after ${timeoutMs} ms (its new owner did not catch up with it), so it cannot leave`,
      );
    await new Promise((r) => setTimeout(r, CHECK_EVERY_MS));
  }
}
