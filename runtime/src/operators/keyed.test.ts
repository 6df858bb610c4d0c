import { describe, expect, it } from 'vitest';
import { compileExpr } from '../expr/cel.ts';
import { CollectingOutput, keyedBatch, testContext } from '../testing/harness.ts';
import { aggregators } from '../testing/operators.ts';
import { IntervalJoinOperator } from './interval-join.ts';
import { RollingAggregateOperator } from './rolling-aggregate.ts';

describe('interval join', () => {
  it('joins records of the same key whose timestamps fit the interval, at max(l, r)', () => {
    const out = new CollectingOutput();
    const op = new IntervalJoinOperator('j', { lowerBound: -5, upperBound: 10, select: undefined }, testContext(), out);
    op.pushInput(
      0,
      keyedBatch([
        [{ user: 'a', click: 1 }, 100, ['a']],
        [{ user: 'b', click: 2 }, 100, ['b']],
      ]),
    );
    op.pushInput(
      1,
      keyedBatch([
        [{ user: 'a', buy: 'x' }, 110, ['a']],
        [{ user: 'a', buy: 'y' }, 111, ['a']],
        [{ user: 'a', buy: 'z' }, 94, ['a']],
        [{ user: 'a', buy: 'w' }, 95, ['a']],
      ]),
    );
    expect(out.records).toEqual([
      { rec: { user: 'a', click: 1, buy: 'x' }, ts: 110 },
      { rec: { user: 'a', click: 1, buy: 'w' }, ts: 100 },
    ]);
    // A left record arriving after the right ones still finds them.
    op.pushInput(0, keyedBatch([[{ user: 'a', click: 3 }, 105, ['a']]]));
    expect(out.records.slice(2).map((r) => r.rec['buy'])).toEqual(['x', 'y']); // [100, 115]: 94 and 95 are out
  });

  it('projects with select over left and right, drops late records, and cleans up state', () => {
    const out = new CollectingOutput();
    const ctx = testContext();
    const op = new IntervalJoinOperator(
      'j',
      {
        lowerBound: 0,
        upperBound: 5,
        select: {
          u: compileExpr('left.user', {}, { left: 'map', right: 'map' }),
          total: compileExpr('left.n + right.n', {}, { left: 'map', right: 'map' }),
        },
      },
      ctx,
      out,
    );
    op.pushInput(0, keyedBatch([[{ user: 'a', n: 1 }, 10, ['a']]]));
    op.pushInput(1, keyedBatch([[{ user: 'a', n: 2 }, 12, ['a']]]));
    expect(out.take()).toEqual([{ u: 'a', total: 3 }]);
    op.watermark(20);
    op.pushInput(1, keyedBatch([[{ user: 'a', n: 5 }, 13, ['a']]])); // behind the watermark
    expect(ctx.late).toBe(1);
    op.pushInput(1, keyedBatch([[{ user: 'a', n: 5 }, 21, ['a']]]));
    expect(out.take()).toEqual([]); // left@10 was cleaned up at 15
  });

  it("a record reads the other side without putting that side's key in the next delta", () => {
    const op = new IntervalJoinOperator(
      'j',
      { lowerBound: -5, upperBound: 10, select: undefined },
      testContext(),
      new CollectingOutput(),
    );
    op.keyedBackend.trackChanges();
    const [left, right] = [op.keyedBackend.state('left'), op.keyedBackend.state('right')];
    op.pushInput(0, keyedBatch([[{ user: 'a', click: 1 }, 100, ['a']]]));
    op.pushInput(1, keyedBatch([[{ user: 'a', buy: 'x' }, 101, ['a']]]));
    left.takeChanged();
    right.takeChanged();
    op.pushInput(0, keyedBatch([[{ user: 'a', click: 2 }, 102, ['a']]]));
    expect(left.takeChanged().size).toBe(1);
    expect(right.takeChanged().size).toBe(0);
  });
});

describe('rolling aggregate', () => {
  it('emits the updated aggregate per key for every record', () => {
    const out = new CollectingOutput();
    const op = new RollingAggregateOperator(
      'r',
      ['user'],
      aggregators({ n: 'count()', total: 'sum(v)', top: 'max(v)' }),
      testContext(),
      out,
    );
    op.push(
      keyedBatch([
        [{ user: 'a', v: 2 }, 1, ['a']],
        [{ user: 'b', v: 1 }, 2, ['b']],
        [{ user: 'a', v: 5 }, 3, ['a']],
      ]),
    );
    expect(out.take()).toEqual([
      { user: 'a', n: 1, total: 2, top: 2 },
      { user: 'b', n: 1, total: 1, top: 1 },
      { user: 'a', n: 2, total: 7, top: 5 },
    ]);
  });
});
