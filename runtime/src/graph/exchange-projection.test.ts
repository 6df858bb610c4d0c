import { describe, expect, it } from 'vitest';
import { UNTYPED_CONNECTOR_RULES } from './testing/untyped-rules.ts';
import { exchangeProjection } from './exchange-projection.ts';
import type { GraphSpec, StepSpec } from './spec.ts';
import { validateGraphWith } from './validate.ts';

const rules = UNTYPED_CONNECTOR_RULES;

/** events → keyBy user → `steps` → a sink on the last step (and on every extra stream named in `sinksOf`). */
function projectionOf(steps: StepSpec[], consumer: string, sinksOf: string[] = []): readonly string[] | undefined {
  const spec: GraphSpec = {
    sources: [{ name: 'events', datagen: { generator: 'nexmark', count: 1 } }],
    steps: [{ name: 'by-user', from: 'events', keyBy: 'user' }, ...steps],
    sinks: [steps.at(-1)?.name as string, ...sinksOf].map((from, i) => ({
      name: `out${i}`,
      from,
      console: {},
    })),
  };
  return exchangeProjection(validateGraphWith(spec, rules), consumer);
}

const hop = (extra: Partial<StepSpec> = {}): StepSpec => ({
  name: 'hop',
  from: 'by-user',
  window: { tumbling: { size: '10s' } },
  ...extra,
});

describe('exchangeProjection', () => {
  it("a window's aggregate of count() and bare fields reads only those fields", () => {
    expect(projectionOf([hop(), { name: 'n', from: 'hop', aggregate: { n: 'count()' } }], 'hop')).toEqual([]);
    expect(
      projectionOf(
        [
          hop(),
          {
            name: 'agg',
            from: 'hop',
            aggregate: { n: 'count()', total: 'sum(amount)', top: 'max( amount )', users: 'countDistinct(page)' },
          },
        ],
        'hop',
      ),
    ).toEqual(['amount', 'page']);
  });

  it('a rolling aggregate right after the keyBy reads only its argument fields', () => {
    expect(projectionOf([{ name: 'agg', from: 'by-user', aggregate: { total: 'sum(amount)' } }], 'agg')).toEqual([
      'amount',
    ]);
  });

  it('keeps the whole record for an argument expression, a late output, an error output or another consumer', () => {
    const agg = (aggregate: Record<string, string>, extra: Partial<StepSpec> = {}): StepSpec => ({
      name: 'agg',
      from: 'hop',
      aggregate,
      ...extra,
    });
    expect(projectionOf([hop(), agg({ total: 'sum(amount * 2.0)' })], 'hop')).toBeUndefined();
    expect(projectionOf([hop(), agg({ t: 'first(true)' })], 'hop')).toBeUndefined();
    expect(
      projectionOf([hop({ window: { tumbling: { size: '10s' }, lateOutput: 'late' } }), agg({ n: 'count()' })], 'hop', [
        'late',
      ]),
    ).toBeUndefined();
    expect(
      projectionOf([hop(), agg({ total: 'sum(amount)' }, { errorOutput: 'bad' })], 'hop', ['bad']),
    ).toBeUndefined();
    expect(projectionOf([{ name: 'm', from: 'by-user', map: { user: 'user' } }], 'm')).toBeUndefined();
    expect(projectionOf([hop(), agg({ n: 'count()' })], 'nowhere')).toBeUndefined();
  });
});
