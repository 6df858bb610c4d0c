import { describe, expect, it } from 'vitest';
import { compileExpr } from '../expr/cel.ts';
import { batchOf, CollectingOutput, testContext } from '../testing/harness.ts';
import { FanOut } from './fan-out.ts';
import { FilterOperator } from './filter.ts';
import { FlatMapOperator } from './flat-map.ts';
import { MapOperator } from './map.ts';
import { UnionOperator } from './union.ts';

describe('filter', () => {
  it('keeps matching records with their timestamps, forwards watermarks and end', () => {
    const out = new CollectingOutput();
    const op = new FilterOperator(compileExpr('price > 10 && country == "de"'), testContext(), out);
    op.push(
      batchOf([
        [{ price: 5, country: 'de' }, 1],
        [{ price: 50, country: 'de' }, 2],
        [{ price: 50, country: 'fr' }, 3],
      ]),
    );
    op.watermark(7);
    op.end();
    expect(out.records).toEqual([{ rec: { price: 50, country: 'de' }, ts: 2 }]);
    expect(out.watermarks).toEqual([7]);
    expect(out.ended).toBe(true);
  });

  it('drops and counts a record the predicate cannot evaluate', () => {
    const out = new CollectingOutput();
    const ctx = testContext();
    const op = new FilterOperator(compileExpr('price > 10'), ctx, out);
    op.push(
      batchOf([
        [{ nope: 1 }, 1],
        [{ price: 11 }, 2],
      ]),
    );
    expect(out.records.map((r) => r.rec)).toEqual([{ price: 11 }]);
    expect(ctx.exprErrors).toHaveLength(1);
  });
});

describe('map', () => {
  it('projects named expressions (ints mix with doubles; CEL ints stay integers)', () => {
    const out = new CollectingOutput();
    const op = new MapOperator(
      {
        user: compileExpr('user'),
        cents: compileExpr('price * 100'),
        big: compileExpr('price > 100'),
        one: compileExpr('1'),
        tag: compileExpr('"u-" + user'),
      },
      testContext(),
      out,
    );
    op.push(batchOf([[{ user: 'x', price: 1.5, other: true }, 10]]));
    // `1` is a CEL int: it stays an integer (a BigInt), `price * 100` a double.
    expect(out.records).toEqual([{ rec: { user: 'x', cents: 150, big: false, one: 1n, tag: 'u-x' }, ts: 10 }]);
  });
});

describe('flatMap', () => {
  it('emits one record per list element; maps stay records, scalars are wrapped', () => {
    const out = new CollectingOutput();
    const op = new FlatMapOperator(
      compileExpr('items.map(i, {"item": i, "order": id})'),
      undefined,
      testContext(),
      out,
    );
    op.push(
      batchOf([
        [{ id: 'o1', items: ['a', 'b'] }, 5],
        [{ id: 'o2', items: [] }, 6],
      ]),
    );
    expect(out.records).toEqual([
      { rec: { item: 'a', order: 'o1' }, ts: 5 },
      { rec: { item: 'b', order: 'o1' }, ts: 5 },
    ]);
    const out2 = new CollectingOutput();
    const words = new FlatMapOperator(compileExpr('line.split(" ")'), 'word', testContext(), out2);
    words.push(batchOf([[{ line: 'to be' }, 1]]));
    expect(out2.records.map((r) => r.rec)).toEqual([{ word: 'to' }, { word: 'be' }]);
  });

  it('counts a non-list result as an expression error', () => {
    const ctx = testContext();
    const out = new CollectingOutput();
    new FlatMapOperator(compileExpr('x'), undefined, ctx, out).push(batchOf([[{ x: 1 }, 1]]));
    expect(out.records).toEqual([]);
    expect(ctx.exprErrors).toHaveLength(1);
  });
});

describe('union and fan-out', () => {
  it('union merges inputs; fan-out copies to every consumer', () => {
    const a = new CollectingOutput();
    const b = new CollectingOutput();
    const u = new UnionOperator(new FanOut([a, b]));
    u.pushInput(0, batchOf([[{ x: 1 }, 1]]));
    u.pushInput(1, batchOf([[{ x: 2 }, 2]]));
    u.watermark(3);
    expect(a.records.map((r) => r.rec)).toEqual([{ x: 1 }, { x: 2 }]);
    expect(b.records).toEqual(a.records);
    expect(b.watermarks).toEqual([3]);
  });
});
