// A window aggregate keeps each window's timer on the window, yet snapshots and restores the
// `timers` state in the form every earlier snapshot has: these tests read the snapshot's
// entries, and restore snapshots written entry by entry as an older runtime wrote them.
import { describe, expect, it } from 'vitest';
import { canonicalKey, keyGroupOf } from '../state/key-groups.ts';
import { KeyedStateBackend } from '../state/keyed-state.ts';
import { readSnapshotEntries } from '../state/snapshot-format.ts';
import { oldWindowState } from '../testing/window-state.ts';
import { CollectingOutput, keyedBatch, testContext, type TestContext } from '../testing/harness.ts';
import { aggregators } from '../testing/operators.ts';
import { WindowAggregateOperator } from './window-aggregate.ts';
import type { WindowKind } from './window-assigner.ts';

function operator(window: WindowKind, allowedLateness: number, eventTime = true, ctx: TestContext = testContext()) {
  const out = new CollectingOutput();
  const op = new WindowAggregateOperator(
    'w',
    {
      window,
      eventTime,
      allowedLateness,
      keyFields: ['user'],
      aggregates: aggregators({ n: 'count()', total: 'sum(v)' }),
    },
    ctx,
    out,
  );
  return { op, out, ctx };
}

const rec = (user: string, v: number, ts: number): [Record<string, unknown>, number, unknown[]] => [
  { user, v },
  ts,
  [user],
];
const tumbling: WindowKind = { kind: 'tumbling', size: 10, offset: 0 };

/** state → key → value, from a snapshot's entries. */
function entriesOf(snapshot: Uint8Array): Map<string, Map<string, unknown>> {
  const out = new Map<string, Map<string, unknown>>();
  for (const [, entries] of readSnapshotEntries(snapshot).groups) {
    for (const e of entries) {
      let m = out.get(e.state);
      if (!m) out.set(e.state, (m = new Map()));
      m.set(e.key, e.value);
    }
  }
  return out;
}

/** A key's timers or windows in order of window start (a key's windows keep no order). */
const byStart = (v: unknown, at: number): unknown[][] =>
  [...(v as unknown[][])].sort((x, y) => (x[at] as number) - (y[at] as number));

describe('window timers in snapshots', () => {
  it("writes each window's pending timer as [timestamp, window start]: end − 1, or its cleanup time once fired", () => {
    const { op } = operator({ kind: 'sliding', size: 10, slide: 5 }, 3);
    op.push(keyedBatch([rec('a', 1, 7), rec('b', 2, 12)]));
    op.watermark(9); // a's [0,10) fires and waits for its cleanup at 12
    const e = entriesOf(op.snapshotState());
    expect(readSnapshotEntries(op.snapshotState()).header.states).toEqual(['windows', 'timers']);
    expect(byStart(e.get('timers')?.get('["a"]'), 1)).toEqual([
      [12, 0],
      [14, 5],
    ]);
    expect(byStart(e.get('timers')?.get('["b"]'), 1)).toEqual([
      [14, 5],
      [19, 10],
    ]);
    expect(byStart(e.get('windows')?.get('["a"]'), 0)).toEqual([
      [0, 10, true, [1, 1]],
      [5, 15, false, [1, 1]],
    ]);
    expect(op.timerCount).toBe(4);
  });

  it('restores the timer a snapshot names for a window, implies one for a window without, drops one without a window', () => {
    // As an older runtime wrote it: both states as their JSON forms, entry by entry.
    const { backend, put } = oldWindowState();
    put('a', [[0, 10, false, [2, 3]]], [[9, 0]]);
    put('b', [[0, 10, true, [1, 1]]], [[20, 0]]); // fired; cleanup at 20 (an allowed lateness of 11 then)
    put('c', [[10, 20, false, [1, 5]]]); // no timer written for it
    put('d', undefined, [[5, 0]]); // a timer whose window is gone
    const { op, out } = operator(tumbling, 0);
    op.restoreState([backend.snapshot()]);
    expect(op.windowCount).toBe(3);
    expect(op.timerCount).toBe(3);
    op.watermark(9);
    expect(out.take()).toEqual([{ user: 'a', window_start: 0, window_end: 10, n: 2, total: 3 }]);
    op.watermark(19);
    expect(out.take()).toEqual([{ user: 'c', window_start: 10, window_end: 20, n: 1, total: 5 }]);
    expect(op.windowCount).toBe(1); // b waits for the cleanup time its snapshot named
    op.watermark(20);
    expect(out.take()).toEqual([]);
    expect(op.windowCount).toBe(0);
    expect(op.timerCount).toBe(0);
  });

  it('refuses a timers entry that is not [timestamp, namespace] pairs as corrupt state', () => {
    for (const bad of [[[5]], [['x', 0]], [[5, true]]]) {
      const backend = new KeyedStateBackend(128, { start: 0, end: 127 });
      const key = canonicalKey(['a']);
      backend.state('windows').put(keyGroupOf(key, 128), key, [[0, 10, false, [1, 1]]]);
      backend.state('timers').put(keyGroupOf(key, 128), key, bad);
      const { op } = operator(tumbling, 0);
      expect(() => op.restoreState([backend.snapshot()])).toThrow(
        expect.objectContaining({ code: 'TRIB_STATE_CORRUPT', message: expect.stringMatching(/timer/) }),
      );
    }
  });

  it('a restore then a snapshot writes the same entries', () => {
    const first = operator({ kind: 'session', gap: 5 }, 4);
    first.op.push(keyedBatch([rec('a', 1, 1), rec('a', 2, 4), rec('b', 3, 30), rec('c', 4, 2)]));
    first.op.watermark(8); // a's and c's sessions fire and wait for cleanup
    const snap = first.op.snapshotState();
    const second = operator({ kind: 'session', gap: 5 }, 4);
    second.op.restoreState([snap]);
    expect(entriesOf(second.op.snapshotState())).toEqual(entriesOf(snap));
    expect(entriesOf(snap).get('timers')?.get('["a"]')).toEqual([[12, 1]]);
  });

  it('fires restored processing-time windows at their end without a new record', () => {
    const before = operator(tumbling, 0, false);
    before.ctx.clock.time = 1000;
    before.op.push(keyedBatch([rec('a', 1, 0), rec('a', 2, 0)]));
    const snap = before.op.snapshotState();
    const ctx = testContext();
    ctx.clock.time = 1003;
    const after = operator(tumbling, 0, false, ctx);
    after.op.restoreState([snap]);
    ctx.clock.advanceTo(1008);
    expect(after.out.records).toEqual([]);
    ctx.clock.advanceTo(1009);
    expect(after.out.take()).toEqual([{ user: 'a', window_start: 1000, window_end: 1010, n: 2, total: 3 }]);
  });
});
