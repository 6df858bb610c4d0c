// Bounded CEL: length limit, cost budget at validation (through the real graph validation, so
// the refusal names the spec field) and per record at evaluation, truncated echoes.
import { describe, expect, it } from 'vitest';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { TributaryError } from '../errors.ts';
import { compileExpr } from './cel.ts';
import { COST_BUDGET, MAX_EXPR_LENGTH } from './cel-cost.ts';

const ints = (n: number): string => `[${Array.from({ length: n }, (_, i) => i).join(',')}]`;

/** A job whose one step is `filter: expr` (and a map field `m: mapExpr` when given). */
function graph(filter: string, mapExpr?: string): unknown {
  return {
    sources: [
      {
        name: 'src',
        datagen: { generator: 'schema', fields: { l: { type: 'string' }, ts: { type: 'timestamp' } } },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' },
      },
    ],
    steps: [{ name: 'f', from: 'src', filter }, ...(mapExpr ? [{ name: 'm', from: 'f', map: { out: mapExpr } }] : [])],
    sinks: [{ name: 'out', from: mapExpr ? 'm' : 'f', console: {} }],
  };
}

function refusal(g: unknown): TributaryError {
  try {
    validateGraph(g);
  } catch (e) {
    return e as TributaryError;
  }
  throw new Error('the graph was accepted');
}

describe('CEL cost and length bounds', () => {
  it('refuses a 12 KB triple comprehension at validation, naming the field, without echoing it whole', () => {
    const list = ints(1100);
    const src = `${list}.map(a, ${list}.map(b, ${list}.map(c, a + b + c))).size() > 0`;
    expect(src.length).toBeGreaterThan(12_000);
    const e = refusal(graph(src));
    expect(e.issues).toEqual([
      expect.objectContaining({
        path: 'graph.steps[0].filter',
        message: expect.stringContaining('longer than the limit'),
      }),
    ]);
    expect(e.message.length).toBeLessThan(600);
  });

  it('refuses a compact triple comprehension by its cost at validation (the length alone would pass)', () => {
    const list = ints(120);
    const src = `${list}.map(a, ${list}.map(b, ${list}.map(c, a + b + c))).size() > 0`;
    expect(src.length).toBeLessThan(MAX_EXPR_LENGTH);
    const e = refusal(graph(src));
    expect(e.issues).toEqual([
      expect.objectContaining({
        path: 'graph.steps[0].filter',
        message: expect.stringMatching(/estimated cost .* exceeds the budget/),
      }),
    ]);
    // Compiling it directly is refused the same way, with the budget's own code.
    expect(() => compileExpr(src, undefined, undefined, 'f/filter')).toThrow(
      expect.objectContaining({ code: 'TRIB_EXPR_BUDGET', message: expect.stringMatching(/^f\/filter: /) }),
    );
  });

  it('limits the length of every expression, not only filters', () => {
    const long = `l == "${'x'.repeat(MAX_EXPR_LENGTH)}"`;
    const e = refusal(graph('true', long));
    expect(e.issues).toEqual([
      expect.objectContaining({
        path: 'graph.steps[1].map.out',
        message: expect.stringContaining('longer than the limit'),
      }),
    ]);
    expect(e.message.length).toBeLessThan(600);
  });

  it('stops at evaluation, before any work, a record whose lists take an accepted expression over budget', () => {
    // Accepted at validation (record lists assumed small); quadratic in the record's list.
    const e = compileExpr('l.map(a, l.map(b, a + b)).size()', { l: 'list' }, undefined, 'm/map/n');
    expect(e.evaluate({ l: [1, 2, 3] })).toBe(3n);
    const big = Array.from({ length: 5000 }, (_, i) => i); // 25 M inner steps: far over the budget
    let err: unknown;
    try {
      e.evaluate({ l: big });
    } catch (x) {
      err = x;
    }
    expect(err).toMatchObject({
      code: 'TRIB_EXPR_BUDGET',
      message: expect.stringMatching(/^m\/map\/n: estimated cost .* \(for this record\) exceeds the budget/),
    });
    expect(COST_BUDGET).toBeLessThan(25_000_000);
    // Lists made from a record's string count by the string's length.
    const s = compileExpr('s.split(",").map(a, s.split(",").map(b, a + b)).size()', { s: 'string' }, undefined, 'x');
    expect(s.evaluate({ s: 'a,b' })).toBe(2n);
    expect(() => s.evaluate({ s: ','.repeat(5000) })).toThrow(expect.objectContaining({ code: 'TRIB_EXPR_BUDGET' }));
  });

  it('truncates an invalid expression echoed into an error', () => {
    const bad = `${'a + '.repeat(800)}`;
    const e = refusal(graph(bad));
    expect(e.issues[0]?.path).toBe('graph.steps[0].filter');
    expect(e.issues[0]?.message).toContain('(3200 characters)');
    expect(e.message.length).toBeLessThan(800);
  });
});
