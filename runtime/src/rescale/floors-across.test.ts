// rescale/floors-across.ts: the old owner's floors of partitions handed to another process — registered
// before `mig-positions` goes, released in the chain's loop on `mig-caught-up`, failing the job when
// never reported within the bound (never released by it), dropped with a slot that left; the new
// owner's side answers with `mig-caught-up` to the old owner's slot.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HandedWatermark } from '../connectors/api.ts';
import type { MigrationRpc } from './migration-rpc.ts';
import type { ActiveStep } from './migration-step.ts';
import type { MigratingChain } from '../exec/migrating-chain.ts';
import { FloorsAcross } from './floors-across.ts';

function chain(slot: number): MigratingChain & { posted: (() => void)[] } {
  const posted: (() => void)[] = [];
  return { slot, posted, post: (cb: () => void) => posted.push(cb) } as unknown as MigratingChain & {
    posted: (() => void)[];
  };
}

function floor(watermark: number): HandedWatermark & { released: number[] } {
  const released: number[] = [];
  return { watermark, released, releaseAt: (b: number) => released.push(b) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('FloorsAcross', () => {
  it('hands the floors it holds over, and releases one in its chain loop when the new owner caught up', () => {
    const failed: unknown[] = [];
    const floors = new FloorsAcross({ timeoutMs: 60_000, fail: (e) => failed.push(e) });
    const c = chain(1);
    const [f3, f5] = [floor(3000), floor(5000)];
    const at = { source: 'in', barrierId: 7, to: 2 };
    expect(
      floors.hand(
        c,
        at,
        [3, 4, 5],
        new Map([
          [3, f3],
          [5, f5],
        ]),
      ),
    ).toEqual([
      [3, 3000],
      [5, 5000],
    ]);
    expect([floors.size, floors.holds(1), floors.holds(2)]).toEqual([2, true, false]);
    floors.release({ m: 'mig-caught-up', barrierId: 9, source: 'in', partition: 3, to: 1 });
    floors.release({ m: 'mig-caught-up', barrierId: 9, source: 'other', partition: 5, to: 1 }); // not held
    expect(f3.released, 'only in the chain loop').toEqual([]);
    for (const cb of c.posted) cb();
    expect([f3.released, f5.released, floors.size]).toEqual([[9], [], 1]);
    floors.release({ m: 'mig-caught-up', barrierId: 10, source: 'in', partition: 3, to: 1 }); // twice: nothing
    expect(c.posted).toHaveLength(1);
    expect(failed).toEqual([]);
  });

  it('fails the job (TRIB_RESCALE_FLOOR_STUCK) for a floor never reported, and never releases it', () => {
    vi.useFakeTimers();
    const failed: unknown[] = [];
    const floors = new FloorsAcross({ timeoutMs: 1000, fail: (e) => failed.push(e) });
    const c = chain(0);
    const [stuck, reported, gone] = [floor(1), floor(2), floor(3)];
    floors.hand(
      c,
      { source: 'in', barrierId: 4, to: 2 },
      [0, 1],
      new Map([
        [0, stuck],
        [1, reported],
      ]),
    );
    floors.hand(chain(2), { source: 'in', barrierId: 4, to: 0 }, [2], new Map([[2, gone]]));
    floors.release({ m: 'mig-caught-up', barrierId: 5, source: 'in', partition: 1, to: 0 });
    floors.forgetSlot(2); // slot 2 left the job: its channels ended
    vi.advanceTimersByTime(999);
    expect(failed).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      code: 'TRIB_RESCALE_FLOOR_STUCK',
      message: expect.stringMatching(/partition 0 of source "in", handed over by slot 0 to slot 2 at checkpoint 4/),
    });
    expect([stuck.released, gone.released]).toEqual([[], []]);
  });

  it('the new owner: takes each floor from mig-positions and reports caught up to the old owner', () => {
    const sent: [number, MigrationRpc][] = [];
    const step = { floors: new Map() } as unknown as ActiveStep;
    const positions = { m: 'mig-positions', barrierId: 4, source: 'in', from: 1, to: 2 } as const;
    FloorsAcross.received(
      step,
      { ...positions, positions: [[6, '10']], watermarks: [[6, 4000]] },
      {
        send: (to, msg) => sent.push([to, msg]),
      },
    );
    const f = step.floors.get('in|6');
    expect(f?.w.watermark).toBe(4000);
    f?.post(() => f.w.releaseAt(8));
    expect(sent).toEqual([[1, { m: 'mig-caught-up', source: 'in', partition: 6, to: 1, barrierId: 8 }]]);
    // An old owner of an earlier version sends no watermarks: nothing to start from, nothing to report.
    FloorsAcross.received(step, { ...positions, positions: [[7, '3']] }, { send: () => undefined });
    expect(step.floors.has('in|7')).toBe(false);
  });
});
