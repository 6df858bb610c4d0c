// An interval join's `ttl`: a buffered record of either side also expires that long (processing
// time) after it was buffered, on top of the event-time cleanup (join-buffer.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Rec } from '../core/record.ts';
import type { StateStore } from '../state/disk-store.ts';
import { canonicalKey, keyGroupOf } from '../state/key-groups.ts';
import { readSnapshotHeader } from '../state/snapshot-format.ts';
import type { Stamped } from '../state/state-ttl.ts';
import { CollectingOutput, keyedBatch, testContext } from '../testing/harness.ts';
import { TEST_BACKENDS, trackStores } from '../testing/state-backends.ts';
import type { Timer } from '../time/timer-service.ts';
import { IntervalJoinOperator } from './interval-join.ts';

/** The store the running case's operators open (set per backend in beforeEach); undefined: the heap. */
let openStore: (() => StateStore) | undefined;

type Entry = [number, Rec, number?];
const DAY = 86_400_000;

/** A join of records of key `k`, right within [left, left + 1 day]: the interval never ends a test. */
function join(ttlMs: number | undefined) {
  const ctx = testContext({ stateStore: openStore });
  const out = new CollectingOutput();
  const cfg = { lowerBound: 0, upperBound: DAY, select: undefined };
  const op = new IntervalJoinOperator('j', cfg, ctx, out, undefined, ttlMs);
  /** At processing time `now`, a record of `side` (0 left, 1 right) and key `k` at event time `ts`: its pairs. */
  const send = (side: 0 | 1, k: string, ts: number, now: number): string[] => {
    ctx.clock.advanceTo(now);
    op.pushInput(side, keyedBatch([[{ k, [side === 0 ? 'l' : 'r']: ts }, ts, [k]]]));
    op.keyedBackend.maintain();
    return out.take().map((r) => `${r['l'] as number}-${r['r'] as number}`);
  };
  const kgKey = (k: string): [number, string] => {
    const key = canonicalKey([k]);
    return [keyGroupOf(key, 128), key];
  };
  /** The side's stored entries of `k`: the stamp and the records' [ts, at]. */
  const stored = (side: 'left' | 'right', k: string) => {
    const v = op.keyedBackend.state<Stamped<Entry[]> | Entry[]>(side).peek(...kgKey(k));
    if (v === undefined) return undefined;
    if (Array.isArray(v)) return { at: undefined, entries: v.map((e) => [e[0], e[2]]) };
    return { at: v.at, entries: v.v.map((e) => [e[0], e[2]]) };
  };
  /** The event-time cleanup timers of `k`'s side `ns` (0 left, 1 right), ascending. */
  const timers = (k: string, ns: number): number[] => {
    const v = op.keyedBackend.state<Timer | Timer[]>('timers').peek(...kgKey(k));
    const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
    return list
      .filter((t) => t.ns === ns)
      .map((t) => t.ts)
      .sort((a, b) => a - b);
  };
  return { ctx, op, send, stored, timers };
}

describe.each(TEST_BACKENDS)('interval join with a ttl ($name)', (tb) => {
  const stores = trackStores(tb);
  beforeEach(() => {
    openStore = stores.open;
  });
  afterEach(() => stores.closeAll());

  it('a buffered record matches until ttl after it was buffered, each record on its own', () => {
    const { ctx, send, stored, timers } = join(1000);
    expect(send(0, 'a', 100, 0)).toEqual([]);
    expect(send(0, 'a', 200, 500)).toEqual([]);
    expect(send(1, 'a', 300, 999)).toEqual(['100-300', '200-300']);
    // The first left record expired at 1000, the second lives until 1500.
    expect(send(1, 'a', 310, 1000)).toEqual(['200-310']);
    // An expired record is never returned, and goes when its key is next written.
    expect(stored('left', 'a')?.entries).toEqual([
      [100, 0],
      [200, 500],
    ]);
    expect(send(0, 'a', 150, 1200)).toEqual(['150-300', '150-310']);
    expect(stored('left', 'a')).toEqual({
      at: 1200,
      entries: [
        [200, 500],
        [150, 1200],
      ],
    });
    expect(ctx.expired).toBe(1);
    // The pruned record's cleanup timer went with it.
    expect(timers('a', 0)).toEqual([150 + DAY, 200 + DAY]);
    expect(send(1, 'a', 320, 1500)).toEqual(['150-320']);
    // Once its newest record expired, the key goes as a whole (one expiry); the right side's
    // write drops its two records buffered before 1200 (two).
    expect(send(1, 'a', 330, 2200)).toEqual([]);
    expect(stored('left', 'a')).toBeUndefined();
    expect(stored('right', 'a')?.entries).toEqual([
      [320, 1500],
      [330, 2200],
    ]);
    expect(ctx.expired).toBe(4);
    expect(timers('a', 0)).toEqual([]);
    expect(timers('a', 1)).toEqual([320, 330]);
  });

  it('without a ttl buffers until the watermark passes the interval only', () => {
    const { send } = join(undefined);
    send(0, 'a', 100, 0);
    expect(send(1, 'a', 300, 10 ** 9)).toEqual(['100-300']);
  });

  it('an event-time cleanup keeps the stamp of the newest record it keeps', () => {
    const { ctx, op, send, stored } = join(1000);
    send(0, 'a', 100, 0);
    send(0, 'a', 200_000_000, 300);
    ctx.clock.advanceTo(800);
    op.watermark(100 + 86_400_000); // the left record at 100 can match nothing more
    expect(stored('left', 'a')).toEqual({ at: 300, entries: [[200_000_000, 300]] });
    expect(send(1, 'a', 200_000_100, 1299)).toEqual(['200000000-200000100']);
    expect(send(1, 'a', 200_000_200, 1300)).toEqual([]);
  });

  it('sweeps keys nobody sends again; a timer of a swept key finds nothing', () => {
    const { ctx, op, send } = join(1000);
    for (let k = 0; k < 40; k++) send(0, `k${k}`, 100, 0);
    const left = op.keyedBackend.state('left');
    expect(left.size).toBe(40);
    for (let i = 0; i < 200; i++) send(1, 'other', 100 + i, 1000 + i);
    expect(left.size).toBe(0);
    expect(ctx.expired).toBe(40);
    // Their cleanup timers went with them: only the other key has timers.
    expect(op.keyedBackend.state('timers').size).toBe(1);
    op.watermark(1_000_000_000); // the swept keys' cleanup timers fire
    expect(op.keyedBackend.state('right').size).toBe(0);
  });

  it('writes the sides with their ttl into the snapshot header', () => {
    const { op, send } = join(1000);
    send(0, 'a', 100, 0);
    expect(readSnapshotHeader(op.snapshotState()).ttl).toEqual({ left: 1000, right: 1000 });
  });

  it('restores with and without a ttl: stamps kept, plain records stamped at the restore, stamps dropped', () => {
    const a = join(1000);
    a.send(0, 'a', 100, 0);
    a.send(0, 'a', 200, 500);
    const stampedBytes = a.op.snapshotState();
    const same = join(1000);
    same.ctx.clock.advanceTo(700);
    same.op.restoreState([stampedBytes]);
    expect(same.send(1, 'a', 300, 1000)).toEqual(['200-300']);
    // Without a ttl: the records lose their stamps and live until the watermark.
    const plain = join(undefined);
    plain.op.restoreState([stampedBytes]);
    expect(plain.stored('left', 'a')).toEqual({
      at: undefined,
      entries: [
        [100, undefined],
        [200, undefined],
      ],
    });
    expect(plain.send(1, 'a', 300, 10 ** 9)).toEqual(['100-300', '200-300']);
    // A plain snapshot restored with a ttl: every record's ttl starts at the restore.
    const later = join(1000);
    later.ctx.clock.advanceTo(5000);
    later.op.restoreState([plain.op.snapshotState()]);
    expect(later.stored('left', 'a')).toEqual({
      at: 5000,
      entries: [
        [100, 5000],
        [200, 5000],
      ],
    });
    expect(later.send(1, 'a', 310, 5999)).toEqual(['100-310', '200-310']);
    expect(later.send(1, 'a', 320, 6000)).toEqual([]);
  });
});
