// Function windows (the TypeScript API's reduce/aggregate per window) run on the one window
// operator, so they have what CEL windows have: allowed lateness (a late record within it
// updates its window, which fires again), a late output, and sessions merged before they are
// judged — also with a session that has already fired. And a savepoint of the earlier function
// window operator (`[[start, end, accumulator], …]`) restores into it.
import { describe, expect, it } from 'vitest';
import { readSnapshotEntries } from '../state/snapshot-format.ts';
import { oldWindowState } from '../testing/window-state.ts';
import { CollectingOutput, keyedBatch, testContext } from '../testing/harness.ts';
import type { WindowKind } from '../operators/window-assigner.ts';
import { MAX_WATERMARK } from '../core/watermark.ts';
import { WindowFunctionOperator } from './window-function-operator.ts';

/** Sum of `v` per key and window, shaped as `{key, start, end, sum}`. */
function sums(window: WindowKind, allowedLateness: number) {
  const ctx = testContext();
  const out = new CollectingOutput();
  const late = new CollectingOutput();
  const errors: unknown[] = [];
  const op = new WindowFunctionOperator(
    'fw',
    {
      window,
      eventTime: true,
      allowedLateness,
      agg: {
        create: () => 0,
        add: (a, x) => (a as number) + (x as { v: number }).v,
        merge: (a, b) => (a as number) + (b as number),
        result: (a) => a,
      },
      result: (sum, key, w) => ({ key, ...w, sum }),
    },
    ctx,
    (e) => errors.push(e),
    out,
    late,
  );
  const push = (v: number, ts: number, key = 'a') => op.push(keyedBatch([[{ v }, ts, [key]]]));
  return { ctx, out, late, op, errors, push };
}

describe('function windows with allowed lateness', () => {
  it('fire again for a record within the lateness, send one beyond it to the late output', () => {
    const { ctx, out, late, op, errors, push } = sums({ kind: 'tumbling', size: 10, offset: 0 }, 5);
    push(1, 1);
    push(2, 8);
    op.watermark(9); // [0,10) fires; its state stays until 9 + 5
    push(4, 3); // within the lateness: the window is updated and fires again at once
    op.watermark(14); // cleanup time of [0,10)
    push(8, 5); // too late for [0,10): the late output
    push(16, 12);
    op.watermark(MAX_WATERMARK);
    expect(out.records).toEqual([
      { rec: { key: 'a', start: 0, end: 10, sum: 3 }, ts: 9 },
      { rec: { key: 'a', start: 0, end: 10, sum: 7 }, ts: 9 },
      { rec: { key: 'a', start: 10, end: 20, sum: 16 }, ts: 19 },
    ]);
    expect(late.records).toEqual([{ rec: { v: 8 }, ts: 5 }]);
    expect([ctx.lateSent, ctx.late]).toEqual([1, 0]);
    expect(late.watermarks.at(-1)).toBe(MAX_WATERMARK);
    expect(op.windowCount).toBe(0);
    expect(errors).toEqual([]);
  });

  it('merge a record into a fired session within the lateness (merge, then judge) and fire the merged session', () => {
    const { ctx, out, late, op, errors, push } = sums({ kind: 'session', gap: 10 }, 20);
    push(1, 100);
    push(10, 130);
    op.watermark(125); // [100,110) fires; [130,140) is open
    push(2, 108); // touches the fired [100,110): merged to [100,118), past the watermark → fires again
    push(4, 120); // touches the open [130,140): [120,140)
    push(8, 115); // bridges [100,118) and [120,140): one session [100,140), fired when its end passes
    op.watermark(139);
    push(100, 60); // a session of its own, [60,70), beyond the lateness: late
    push(1000, 141); // touches nothing (140 < 141): its own session
    op.watermark(MAX_WATERMARK);
    expect(out.records.map((r) => r.rec)).toEqual([
      { key: 'a', start: 100, end: 110, sum: 1 },
      { key: 'a', start: 100, end: 118, sum: 3 },
      { key: 'a', start: 100, end: 140, sum: 25 },
      { key: 'a', start: 141, end: 151, sum: 1000 },
    ]);
    expect(late.records).toEqual([{ rec: { v: 100 }, ts: 60 }]);
    expect(ctx.lateSent).toBe(1);
    expect(errors).toEqual([]);
  });

  it('without a late output, count late records as dropped', () => {
    const ctx = testContext();
    const out = new CollectingOutput();
    const op = new WindowFunctionOperator(
      'fw',
      {
        window: { kind: 'sliding', size: 10, slide: 5 },
        eventTime: true,
        allowedLateness: 3,
        agg: { create: () => 0, add: (a) => (a as number) + 1, result: (a) => a },
      },
      ctx,
      () => {},
      out,
    );
    op.push(keyedBatch([[{}, 7, ['a']]])); // [0,10) and [5,15)
    op.watermark(11); // [0,10) fired at 9, held until its cleanup at 12
    op.push(keyedBatch([[{}, 6, ['a']]])); // both: [0,10) fires again at once
    op.watermark(12); // [0,10) is gone
    op.push(keyedBatch([[{}, 2, ['a']]])); // only [0,10) and [-5,5), both gone: late
    op.watermark(MAX_WATERMARK);
    expect(out.records).toEqual([
      { rec: 1, ts: 9 },
      { rec: 2, ts: 9 },
      { rec: 2, ts: 14 },
    ]);
    expect([ctx.late, ctx.lateSent]).toEqual([1, 0]);
  });
});

describe('function window savepoints', () => {
  it('restore the earlier function window form, and are written in the window operator form after', () => {
    // As the function window operator before this one wrote it: `[[start, end, accumulator], …]`
    // per key (windows that had not fired), its timers `[[end − 1, start], …]`; a key whose
    // windows all failed to add could hold an empty list.
    const { backend, put } = oldWindowState();
    put(
      'a',
      [
        [10, 20, 7],
        [0, 10, 5],
      ],
      [
        [19, 10],
        [9, 0],
      ],
    );
    put('b', []);
    const { op, out } = sums({ kind: 'tumbling', size: 10, offset: 0 }, 0);
    op.restoreState([backend.snapshot()]);
    expect(op.windowCount).toBe(2);
    const entries = readSnapshotEntries(op.snapshotState());
    const written = [...entries.groups].flatMap(([, es]) => es.filter((e) => e.state === 'windows'));
    expect(written).toEqual([
      expect.objectContaining({
        key: '["a"]',
        value: [
          [0, 10, false, [5]],
          [10, 20, false, [7]],
        ],
      }),
    ]);
    op.watermark(9);
    op.push(keyedBatch([[{ v: 1 }, 12, ['a']]]));
    op.watermark(19);
    expect(out.records.map((r) => r.rec)).toEqual([
      { key: 'a', start: 0, end: 10, sum: 5 },
      { key: 'a', start: 10, end: 20, sum: 8 },
    ]);
    expect([op.windowCount, op.timerCount]).toEqual([0, 0]);
  });
});
