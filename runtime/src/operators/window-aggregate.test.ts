import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CollectingOutput,
  keyedBatch,
  testContext as harnessContext,
  type TestContext,
  type TestContextOptions,
} from '../testing/harness.ts';
import type { StateStore } from '../state/disk-store.ts';
import { TEST_BACKENDS, trackStores } from '../testing/state-backends.ts';
import { aggregators } from '../testing/operators.ts';
import { MAX_WATERMARK } from '../core/watermark.ts';
import { WindowAggregateOperator, type WindowAggregateConfig } from './window-aggregate.ts';
import type { WindowKind } from './window-assigner.ts';

/** The store the running case's operators open (set per backend in beforeEach); undefined: the heap. */
let openStore: (() => StateStore) | undefined;
const testContext = (o: TestContextOptions = {}): TestContext => harnessContext({ ...o, stateStore: openStore });

interface Setup {
  op: WindowAggregateOperator;
  out: CollectingOutput;
  late: CollectingOutput;
  ctx: TestContext;
}

function setup(
  window: WindowKind,
  o: Partial<WindowAggregateConfig> & { aggs?: Record<string, string>; sideOutput?: boolean; ctx?: TestContext } = {},
): Setup {
  const out = new CollectingOutput();
  const late = new CollectingOutput();
  const ctx = o.ctx ?? testContext();
  const op = new WindowAggregateOperator(
    'w',
    {
      window,
      eventTime: o.eventTime ?? true,
      allowedLateness: o.allowedLateness ?? 0,
      keyFields: ['user'],
      aggregates: aggregators(o.aggs ?? { n: 'count()', total: 'sum(v)' }),
    },
    ctx,
    out,
    o.sideOutput ? late : undefined,
  );
  if (openStore) {
    // A safe point after every call, as a slot's loop has them: the tiny cache evicts there.
    const push = op.push.bind(op);
    const watermark = op.watermark.bind(op);
    op.push = (b) => {
      push(b);
      op.keyedBackend.maintain();
    };
    op.watermark = (wm) => {
      watermark(wm);
      op.keyedBackend.maintain();
    };
  }
  return { op, out, late, ctx };
}

const rec = (user: string, v: number, ts: number): [Record<string, unknown>, number, unknown[]] => [
  { user, v },
  ts,
  [user],
];
const tumbling = (size: number): WindowKind => ({ kind: 'tumbling', size, offset: 0 });

describe.each(TEST_BACKENDS)('window aggregates ($name)', (tb) => {
  const stores = trackStores(tb);
  beforeEach(() => {
    openStore = stores.open;
  });
  afterEach(() => stores.closeAll());

  describe('tumbling event-time windows', () => {
    it('fire at end − 1 and respect boundaries ([0,10) holds 0..9, 10 starts the next window)', () => {
      const { op, out } = setup(tumbling(10));
      op.push(keyedBatch([rec('a', 1, 0), rec('a', 2, 9), rec('a', 4, 10), rec('b', 8, 5)]));
      op.watermark(8);
      expect(out.records).toEqual([]);
      op.watermark(9);
      expect(out.take().sort((x, y) => String(x['user']).localeCompare(String(y['user'])))).toEqual([
        { user: 'a', window_start: 0, window_end: 10, n: 2, total: 3 },
        { user: 'b', window_start: 0, window_end: 10, n: 1, total: 8 },
      ]);
      op.watermark(19);
      expect(out.take()).toEqual([{ user: 'a', window_start: 10, window_end: 20, n: 1, total: 4 }]);
      expect(op.windowCount).toBe(0);
    });

    it('stamps results with end − 1 and forwards the watermark after them', () => {
      const { op, out } = setup(tumbling(10));
      op.push(keyedBatch([rec('a', 1, 3)]));
      op.watermark(100);
      expect(out.records).toEqual([{ rec: { user: 'a', window_start: 0, window_end: 10, n: 1, total: 1 }, ts: 9 }]);
      expect(out.watermarks).toEqual([100]);
    });

    it('accepts out-of-order records that are not late', () => {
      const { op, out } = setup(tumbling(10));
      op.push(keyedBatch([rec('a', 1, 7), rec('a', 1, 12), rec('a', 1, 2)]));
      op.watermark(5);
      op.push(keyedBatch([rec('a', 1, 6)])); // behind the newest record, ahead of the watermark
      op.watermark(9);
      expect(out.take()).toEqual([{ user: 'a', window_start: 0, window_end: 10, n: 3, total: 3 }]);
    });

    it('sends late records to the side output and counts them', () => {
      const { op, out, late } = setup(tumbling(10), { sideOutput: true });
      op.push(keyedBatch([rec('a', 1, 1)]));
      op.watermark(9);
      op.push(keyedBatch([rec('a', 5, 4)]));
      expect(out.take()).toEqual([{ user: 'a', window_start: 0, window_end: 10, n: 1, total: 1 }]);
      expect(late.records).toEqual([{ rec: { user: 'a', v: 5 }, ts: 4 }]);
    });

    it('drops late records without a side output and counts them', () => {
      const { op, ctx, out } = setup(tumbling(10));
      op.watermark(50);
      op.push(keyedBatch([rec('a', 1, 10), rec('a', 1, 49)]));
      expect(ctx.late).toBe(2);
      expect(out.records).toEqual([]);
    });

    it('re-fires on late records within allowed lateness, then cleans up', () => {
      const { op, out, late } = setup(tumbling(10), { allowedLateness: 5, sideOutput: true });
      op.push(keyedBatch([rec('a', 1, 1)]));
      op.watermark(9);
      expect(out.take()).toEqual([{ user: 'a', window_start: 0, window_end: 10, n: 1, total: 1 }]);
      op.push(keyedBatch([rec('a', 2, 3)])); // late, but 9 + 5 > watermark 9
      expect(out.take()).toEqual([{ user: 'a', window_start: 0, window_end: 10, n: 2, total: 3 }]);
      op.watermark(13);
      op.push(keyedBatch([rec('a', 4, 8)])); // still allowed: 9 + 5 = 14 > 13
      expect(out.take()).toEqual([{ user: 'a', window_start: 0, window_end: 10, n: 3, total: 7 }]);
      op.watermark(14); // cleanup time reached
      expect(op.windowCount).toBe(0);
      op.push(keyedBatch([rec('a', 8, 9)]));
      expect(out.records).toEqual([]);
      expect(late.take()).toEqual([{ user: 'a', v: 8 }]);
    });

    it('a window first seen after its end but within lateness fires at once, once', () => {
      const { op, out } = setup(tumbling(10), { allowedLateness: 100 });
      op.watermark(50);
      op.push(keyedBatch([rec('a', 1, 5)]));
      expect(out.take()).toEqual([{ user: 'a', window_start: 0, window_end: 10, n: 1, total: 1 }]);
      op.watermark(60);
      expect(out.take()).toEqual([]);
      op.watermark(MAX_WATERMARK);
      expect(op.windowCount).toBe(0);
    });

    it('handles negative timestamps and offsets', () => {
      const { op, out } = setup({ kind: 'tumbling', size: 10, offset: 3 });
      op.push(keyedBatch([rec('a', 1, -5), rec('a', 1, 2), rec('a', 1, 3)]));
      op.watermark(MAX_WATERMARK);
      expect(out.take()).toEqual([
        { user: 'a', window_start: -7, window_end: 3, n: 2, total: 2 },
        { user: 'a', window_start: 3, window_end: 13, n: 1, total: 1 },
      ]);
    });
  });

  describe('sliding windows', () => {
    it('assigns each record to size/slide windows', () => {
      const { op, out } = setup({ kind: 'sliding', size: 10, slide: 5 });
      op.push(keyedBatch([rec('a', 1, 7)]));
      op.watermark(MAX_WATERMARK);
      expect(out.take()).toEqual([
        { user: 'a', window_start: 0, window_end: 10, n: 1, total: 1 },
        { user: 'a', window_start: 5, window_end: 15, n: 1, total: 1 },
      ]);
    });
  });

  describe('session windows', () => {
    it('merges sessions bridged by a record and keeps separate sessions apart', () => {
      const { op, out } = setup({ kind: 'session', gap: 10 });
      op.push(keyedBatch([rec('a', 1, 0), rec('a', 1, 30), rec('a', 1, 12)]));
      // [0,10) and [12,22) and [30,40): three sessions; 12 does not touch [0,10)
      op.push(keyedBatch([rec('a', 1, 8)])); // [8,18) bridges [0,10) and [12,22) → [0,22)
      op.watermark(21);
      expect(out.take()).toEqual([{ user: 'a', window_start: 0, window_end: 22, n: 3, total: 3 }]);
      op.push(keyedBatch([rec('a', 5, 25)])); // [25,35) merges with [30,40) → [25,40)
      op.watermark(MAX_WATERMARK);
      expect(out.take()).toEqual([{ user: 'a', window_start: 25, window_end: 40, n: 2, total: 6 }]);
      expect(op.windowCount).toBe(0);
    });

    it('merges a record into the sessions it touches before judging it late (Flink: merge, then judge)', () => {
      const { op, out, late } = setup({ kind: 'session', gap: 10 }, { allowedLateness: 5, sideOutput: true });
      op.push(keyedBatch([rec('a', 1, 100)])); // [100,110), fires at 109, held until 114
      op.watermark(105);
      // [90,100) alone would be late (99 + 5 ≤ 105), but it touches the open [100,110) → [90,110).
      // [78,88) touches nothing and is late on its own.
      op.push(keyedBatch([rec('a', 2, 90), rec('a', 4, 78)]));
      expect(late.take()).toEqual([{ user: 'a', v: 4 }]);
      op.watermark(109);
      expect(out.take()).toEqual([{ user: 'a', window_start: 90, window_end: 110, n: 2, total: 3 }]);
      // After the firing, within the lateness: [87,97) is late alone (96 + 5 ≤ 112) but touches
      // [90,110), so it updates and re-fires the merged session.
      op.watermark(112);
      op.push(keyedBatch([rec('a', 8, 87)]));
      expect(late.take()).toEqual([]);
      expect(out.take()).toEqual([{ user: 'a', window_start: 87, window_end: 110, n: 3, total: 11 }]);
      op.watermark(MAX_WATERMARK);
      expect(op.windowCount).toBe(0);
    });

    it('keeps sessions per key', () => {
      const { op, out } = setup({ kind: 'session', gap: 5 });
      op.push(keyedBatch([rec('a', 1, 0), rec('b', 1, 2), rec('a', 1, 3)]));
      op.watermark(MAX_WATERMARK);
      expect(out.take().sort((x, y) => String(x['user']).localeCompare(String(y['user'])))).toEqual([
        { user: 'a', window_start: 0, window_end: 8, n: 2, total: 2 },
        { user: 'b', window_start: 2, window_end: 7, n: 1, total: 1 },
      ]);
    });
  });

  describe('processing-time windows', () => {
    it('assign by arrival time and fire on the processing-time clock', () => {
      const ctx = testContext();
      ctx.clock.time = 1000;
      const { op, out } = setup(tumbling(100), { eventTime: false, ctx });
      op.push(keyedBatch([rec('a', 1, 5), rec('a', 2, 999_999)])); // record timestamps are ignored
      ctx.clock.advanceTo(1098);
      expect(out.records).toEqual([]);
      ctx.clock.advanceTo(1099);
      expect(out.take()).toEqual([{ user: 'a', window_start: 1000, window_end: 1100, n: 2, total: 3 }]);
    });
  });

  describe('aggregate functions', () => {
    it('computes count, sum, min, max, avg, countDistinct, first, last', () => {
      const { op, out } = setup(tumbling(100), {
        aggs: {
          n: 'count()',
          s: 'sum(v)',
          lo: 'min(v)',
          hi: 'max(v)',
          mean: 'avg(v)',
          d: 'countDistinct(v)',
          f: 'first(v)',
          l: 'last(v)',
          big: 'sum(v * 2)',
        },
      });
      op.push(keyedBatch([rec('a', 3, 50), rec('a', 1, 10), rec('a', 3, 90), rec('a', 7, 20)]));
      op.watermark(MAX_WATERMARK);
      expect(out.take()).toEqual([
        {
          user: 'a',
          window_start: 0,
          window_end: 100,
          n: 4,
          s: 14,
          lo: 1,
          hi: 7,
          mean: 3.5,
          d: 3,
          f: 1,
          l: 3,
          big: 28,
        },
      ]);
    });

    it('skips a record whose aggregate argument fails, and counts it', () => {
      const { op, out, ctx } = setup(tumbling(100));
      op.push(keyedBatch([rec('a', 1, 1), [{ user: 'a' }, 2, ['a']]]));
      op.watermark(MAX_WATERMARK);
      expect(out.take()).toEqual([{ user: 'a', window_start: 0, window_end: 100, n: 1, total: 1 }]);
      expect(ctx.exprErrors).toHaveLength(1);
    });
  });

  describe('window state snapshots', () => {
    it('restores 2 slots into 3 slots and produces the same results', () => {
      const records = Array.from({ length: 300 }, (_, i) => rec(`u${i % 37}`, i, i * 7));
      const run = (snapshots: Uint8Array[] | undefined, p: number, feed: typeof records) => {
        const outs: Record<string, unknown>[] = [];
        const ops = Array.from({ length: p }, (_, s) => {
          const s0 = setup(
            { kind: 'session', gap: 20 },
            { ctx: testContext({ slot: s, parallelism: p }), allowedLateness: 30 },
          );
          if (snapshots) s0.op.restoreState(snapshots);
          return s0;
        });
        for (const r of feed) {
          const b = keyedBatch([r]);
          const kg = b.kgs[0] as number;
          const target = ops.find((o) => kg >= o.ctx.keyGroupRange.start && kg <= o.ctx.keyGroupRange.end) as Setup;
          target.op.push(b);
        }
        return { ops, outs };
      };
      const first = records.slice(0, 150);
      const rest = records.slice(150);
      // Reference: one slot sees everything.
      const ref = run(undefined, 1, records);
      for (const o of ref.ops) o.op.watermark(MAX_WATERMARK);
      const expected = ref.ops
        .flatMap((o) => o.out.take())
        .map((r) => JSON.stringify(r))
        .sort();

      const two = run(undefined, 2, first);
      const snaps = two.ops.map((o) => o.op.snapshotState());
      const three = run(snaps, 3, rest);
      for (const o of three.ops) o.op.watermark(MAX_WATERMARK);
      const got = three.ops
        .flatMap((o) => o.out.take())
        .map((r) => JSON.stringify(r))
        .sort();
      expect(got).toEqual(expected);
      expect(got.length).toBeGreaterThan(10);
    });
  });
});
