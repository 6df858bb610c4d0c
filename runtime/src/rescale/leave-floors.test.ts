// rescale/leave-floors.ts: a leaving slot's sources end only once it keeps no moved partition's
// watermark floor (its own source's, or one held for a new owner in another process); bounded.
import { describe, expect, it } from 'vitest';
import { floorsReleased } from './leave-floors.ts';
import type { LiveMigration } from './migration.ts';
import type { SlotParts } from '../exec/slot-builder.ts';

function slot(index: number, held: { floor: boolean }): SlotParts {
  const source = {
    wms: {
      get holdsFloor(): boolean {
        return held.floor;
      },
    },
  };
  return { slot: { index, post: (cb: () => void) => queueMicrotask(cb) }, sources: [source] } as unknown as SlotParts;
}

const migration = (remote: Set<number>): LiveMigration =>
  ({ remoteFloors: { holds: (s: number) => remote.has(s) } }) as unknown as LiveMigration;

describe('floorsReleased', () => {
  it('waits for every floor of the slots: its sources’ and those held for another process', async () => {
    const own = { floor: true };
    const remote = new Set([3]);
    let done = false;
    const waiting = floorsReleased([slot(2, { floor: false }), slot(3, own)], migration(remote), 10_000).then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 60));
    own.floor = false;
    await new Promise((r) => setTimeout(r, 60));
    expect(done, 'slot 3 still holds one for another process').toBe(false);
    remote.clear();
    await waiting;
    expect(done).toBe(true);
  });

  it('fails the drain (TRIB_RESCALE_STEP_FAILED) when a floor outlives the bound', async () => {
    await expect(floorsReleased([slot(1, { floor: true })], undefined, 50)).rejects.toMatchObject({
      code: 'TRIB_RESCALE_STEP_FAILED',
      message: expect.stringMatching(/slot 1 still keeps the watermark of a partition it handed over/),
    });
  });
});
