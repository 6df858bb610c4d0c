// What numeric and ordering aggregates accept (docs/runtime/graph.md, "Aggregates: accepted
// values"): sum/avg finite numbers only, min/max one kind per group (numbers, strings,
// timestamps), null is no value; everything else goes to the record-error path (the step's
// errorOutput or the job's onRecordError), and no non-finite value ever enters state.
import { describe, expect, it } from 'vitest';
import type { Rec } from '../core/record.ts';
import { CollectingOutput, keyedBatch, testContext, type TestContext } from '../testing/harness.ts';
import { aggregators } from '../testing/operators.ts';
import { RecordErrors } from './record-errors.ts';
import { RollingAggregateOperator } from './rolling-aggregate.ts';
import { WindowAggregateOperator } from './window-aggregate.ts';
import type { WindowKind } from './window-assigner.ts';

function rolling(aggs: Record<string, string>, routed = true) {
  const ctx = testContext();
  const out = new CollectingOutput();
  const dead = new CollectingOutput();
  const op = new RollingAggregateOperator(
    'agg',
    ['k'],
    aggregators(aggs),
    ctx,
    out,
    new RecordErrors(ctx, routed ? dead : undefined),
  );
  const push = (...vals: unknown[]): void =>
    op.push(keyedBatch(vals.map((v, i): [Rec, number, unknown[]] => [{ k: 'a', v }, i + 1, ['a']])));
  return { ctx, out, dead, op, push };
}

function windowed(window: WindowKind, aggs: Record<string, string>) {
  const ctx = testContext();
  const out = new CollectingOutput();
  const dead = new CollectingOutput();
  const op = new WindowAggregateOperator(
    'w',
    { window, eventTime: true, allowedLateness: 0, keyFields: ['k'], aggregates: aggregators(aggs) },
    ctx,
    out,
    undefined,
    new RecordErrors(ctx, dead),
  );
  const push = (items: [unknown, number][]): void =>
    op.push(keyedBatch(items.map(([v, ts]): [Rec, number, unknown[]] => [{ k: 'a', v }, ts, ['a']])));
  return { ctx, out, dead, op, push };
}

/** The error records: [code, message] of each. */
const errorsOf = (dead: CollectingOutput): [unknown, unknown][] => dead.take().map((r) => [r['code'], r['error']]);

describe('sum and avg take finite numbers only', () => {
  it('refuse a numeric string and a bool (no coercion), naming the output, the call and the type', () => {
    const { out, dead, push } = rolling({ total: 'sum(v)', mean: 'avg(v)' });
    push(5, '12', true, 7);
    expect(out.take()).toEqual([
      { k: 'a', total: 5, mean: 5 },
      { k: 'a', total: 12, mean: 6 },
    ]);
    const errs = errorsOf(dead);
    expect(errs.map((e) => e[0])).toEqual(['TRIB_AGGREGATE_INPUT', 'TRIB_AGGREGATE_INPUT']);
    expect(errs[0]?.[1]).toBe(
      'aggregate total: sum(v): "12" (a string) is not a finite number: sum takes numbers only',
    );
    expect(errs[1]?.[1]).toContain('true (a bool) is not a finite number');
  });

  it('refuse NaN and Infinity from an expression: they never enter state', () => {
    const { out, dead, push } = rolling({ total: 'sum(double(v) / double(v - 1))' });
    push(2, 1, 0, 3); // 2/1, 1/0 = Infinity, 0/-1 = -0, 3/2
    expect(out.take().map((r) => r['total'])).toEqual([2, 2, 3.5]);
    expect(errorsOf(dead)).toEqual([
      ['TRIB_AGGREGATE_INPUT', expect.stringContaining('Infinity (a non-finite number) is not a finite number')],
    ]);
  });

  it('refuse a value that would take the sum out of the finite range, leaving the state as it was', () => {
    const { out, dead, push } = rolling({ total: 'sum(v)', n: 'count()' });
    push(1e308, 1e308, -1);
    // The refused record counts nowhere: not in the sum, not in count().
    expect(out.take()).toEqual([
      { k: 'a', total: 1e308, n: 1 },
      { k: 'a', total: 1e308 - 1, n: 2 },
    ]);
    expect(errorsOf(dead)).toEqual([
      ['TRIB_AGGREGATE_INPUT', expect.stringContaining('sum would leave the finite range')],
    ]);
  });

  it('skip null: avg counts only values', () => {
    const { out, dead, push } = rolling({ total: 'sum(v)', mean: 'avg(v)' });
    push(2, null, 4);
    expect(out.take().map((r) => [r['total'], r['mean']])).toEqual([
      [2, 2],
      [2, 2],
      [6, 3],
    ]);
    expect(dead.records).toEqual([]);
  });

  it('without an errorOutput, go to the job policy (counted; onRecordError: fail throws there)', () => {
    const { ctx, out, push } = rolling({ total: 'sum(v)' }, false);
    push(1, 'x', 2);
    expect(out.take().map((r) => r['total'])).toEqual([1, 3]);
    expect((ctx as TestContext).exprErrors.map((e) => (e as { code?: string }).code)).toEqual(['TRIB_AGGREGATE_INPUT']);
  });
});

describe('min and max order one kind per group', () => {
  it('refuse a string in a group of numbers (max(10, "9") was "9")', () => {
    const { out, dead, push } = rolling({ hi: 'max(v)', lo: 'min(v)' });
    push(10, '9', 11);
    expect(out.take().map((r) => [r['hi'], r['lo']])).toEqual([
      [10, 10],
      [11, 10],
    ]);
    expect(errorsOf(dead)).toEqual([
      [
        'TRIB_AGGREGATE_INPUT',
        'aggregate hi: max(v): "9" (a string) in a group whose max is 10 (a number): max compares one kind per group (numbers, strings or timestamps)',
      ],
    ]);
  });

  it('order numbers numerically and strings by code unit', () => {
    const n = rolling({ hi: 'max(v)' });
    n.push(9, 10, 2);
    expect(n.out.take().map((r) => r['hi'])).toEqual([9, 10, 10]);
    const s = rolling({ hi: 'max(v)', lo: 'min(v)' });
    s.push('b', 'a', 'B', 'c');
    expect(s.out.take().map((r) => [r['hi'], r['lo']])).toEqual([
      ['b', 'b'],
      ['b', 'a'],
      ['b', 'B'],
      ['c', 'B'],
    ]);
  });

  it('order timestamps by instant, and keep them timestamps through a snapshot', () => {
    const { op, out, push } = rolling({ hi: 'max(timestamp(v))' });
    // Saturday, then the Monday after: as strings ("Sat …" > "Mon …") the older one won.
    push('2024-01-06T00:00:00Z', '2024-01-08T00:00:00Z');
    expect(out.take().map((r) => (r['hi'] as Date).toISOString())).toEqual([
      '2024-01-06T00:00:00.000Z',
      '2024-01-08T00:00:00.000Z',
    ]);
    const restored = rolling({ hi: 'max(timestamp(v))' });
    restored.op.restoreState([op.snapshotState()]);
    restored.push('2024-01-07T00:00:00Z');
    expect(restored.dead.records).toEqual([]);
    expect(restored.out.take().map((r) => (r['hi'] as Date).toISOString())).toEqual(['2024-01-08T00:00:00.000Z']);
  });

  it('refuse values that cannot be ordered (a bool, a map, NaN)', () => {
    const { out, dead, push } = rolling({ hi: 'max(v)' });
    push(true, { a: 1 }, 3);
    expect(out.take().map((r) => r['hi'])).toEqual([3]);
    expect(errorsOf(dead).map((e) => e[1])).toEqual([
      'aggregate hi: max(v): true (a bool) cannot be ordered: max takes finite numbers, strings or timestamps',
      'aggregate hi: max(v): {"a":1} (a map) cannot be ordered: max takes finite numbers, strings or timestamps',
    ]);
  });
});

describe('window aggregates refuse a record before any window changes', () => {
  it('a tumbling window keeps its result when a record of another kind arrives', () => {
    const { op, out, dead, push } = windowed({ kind: 'tumbling', size: 10, offset: 0 }, { hi: 'max(v)', n: 'count()' });
    push([
      [10, 1],
      ['9', 2],
      [3, 3],
    ]);
    op.watermark(9);
    expect(out.take()).toEqual([{ k: 'a', window_start: 0, window_end: 10, hi: 10, n: 2 }]);
    expect(errorsOf(dead).map((e) => e[0])).toEqual(['TRIB_AGGREGATE_INPUT']);
  });

  it('a sliding window record that would overflow one of its windows is added to none', () => {
    const { op, out, dead, push } = windowed(
      { kind: 'sliding', size: 10, slide: 5 },
      { total: 'sum(v)', n: 'count()' },
    );
    // 1e308 at t=7 falls in [0,10) and [5,15); the second at t=12 in [5,15) and [10,20):
    // it overflows [5,15) only, so it is refused whole and [10,20) never sees it.
    push([
      [1e308, 7],
      [1e308, 12],
      [1, 13],
    ]);
    op.watermark(100);
    expect(out.take()).toEqual([
      { k: 'a', window_start: 0, window_end: 10, total: 1e308, n: 1 },
      { k: 'a', window_start: 5, window_end: 15, total: 1e308 + 1, n: 2 },
      { k: 'a', window_start: 10, window_end: 20, total: 1, n: 1 },
    ]);
    expect(errorsOf(dead)).toEqual([
      ['TRIB_AGGREGATE_INPUT', expect.stringContaining('sum would leave the finite range')],
    ]);
  });

  it('a record that would merge two sessions of different kinds merges nothing', () => {
    const { op, out, dead, push } = windowed({ kind: 'session', gap: 10 }, { lo: 'min(v)', n: 'count()' });
    push([
      [5, 0],
      ['x', 20],
      [7, 10], // [10, 20) touches both [0, 10) and [20, 30)
    ]);
    op.watermark(100);
    expect(out.take()).toEqual([
      { k: 'a', window_start: 0, window_end: 10, lo: 5, n: 1 },
      { k: 'a', window_start: 20, window_end: 30, lo: 'x', n: 1 },
    ]);
    expect(errorsOf(dead)).toEqual([
      ['TRIB_AGGREGATE_INPUT', expect.stringContaining('min compares one kind per group')],
    ]);
  });
});
