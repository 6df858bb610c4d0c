import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileExpr } from '../expr/cel.ts';
import {
  CollectingOutput,
  keyedBatch,
  testContext,
  type TestContext,
  type TestContextOptions,
} from '../testing/harness.ts';
import type { StateStore } from '../state/disk-store.ts';
import { TEST_BACKENDS, trackStores } from '../testing/state-backends.ts';
import { aggregators } from '../testing/operators.ts';
import { IntervalJoinOperator } from './interval-join.ts';
import { RollingAggregateOperator } from './rolling-aggregate.ts';

/** The store the running case's operators open (set per backend in beforeEach); undefined: the heap. */
let openStore: (() => StateStore) | undefined;
const context = (o: TestContextOptions = {}): TestContext => testContext({ ...o, stateStore: openStore });

describe.each(TEST_BACKENDS)('interval join ($name)', (tb) => {
  const stores = trackStores(tb);
  beforeEach(() => {
    openStore = stores.open;
  });
  afterEach(() => stores.closeAll());
  it('joins records of the same key whose timestamps fit the interval, at max(l, r)', () => {
    const out = new CollectingOutput();
    const op = new IntervalJoinOperator('j', { lowerBound: -5, upperBound: 10, select: undefined }, context(), out);
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
    const ctx = context();
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
      context(),
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

  it('joins and cleans up over more keys than the disk cache holds, with safe points between batches', () => {
    const out = new CollectingOutput();
    const op = new IntervalJoinOperator('j', { lowerBound: -5, upperBound: 10, select: undefined }, context(), out);
    const keys = Array.from({ length: 40 }, (_, i) => `u${i}`);
    for (let i = 0; i < keys.length; i += 5) {
      const chunk = keys.slice(i, i + 5);
      op.pushInput(0, keyedBatch(chunk.map((u, j) => [{ user: u, click: i + j }, 100 + i + j, [u]])));
      op.keyedBackend.maintain();
      op.pushInput(1, keyedBatch(chunk.map((u, j) => [{ user: u, buy: i + j }, 102 + i + j, [u]])));
      op.keyedBackend.maintain();
    }
    const joined = (): string[] =>
      out.take().map((r) => `${String(r['user'])} ${String(r['click'])} ${String(r['buy'])}`);
    expect(joined().sort()).toEqual(keys.map((u, i) => `${u} ${i} ${i}`).sort());
    // A second left record per key, 3 ms later, still finds its right one.
    op.pushInput(0, keyedBatch(keys.map((u, i) => [{ user: u, click: -i }, 103 + i, [u]])));
    op.keyedBackend.maintain();
    expect(joined().sort()).toEqual(keys.map((u, i) => `${u} ${-i} ${i}`).sort());
    op.watermark(1000); // every timer fires: both sides are cleaned up
    op.keyedBackend.maintain();
    expect(op.keyedBackend.state('left').size).toBe(0);
    expect(op.keyedBackend.state('right').size).toBe(0);
    op.pushInput(1, keyedBatch(keys.map((u) => [{ user: u, buy: 'late' }, 1001, [u]])));
    expect(joined()).toEqual([]);
  });
});

describe.each(TEST_BACKENDS)('rolling aggregate ($name)', (tb) => {
  const stores = trackStores(tb);
  beforeEach(() => {
    openStore = stores.open;
  });
  afterEach(() => stores.closeAll());
  it('emits the updated aggregate per key for every record', () => {
    const out = new CollectingOutput();
    const op = new RollingAggregateOperator(
      'r',
      ['user'],
      aggregators({ n: 'count()', total: 'sum(v)', top: 'max(v)' }),
      context(),
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
