import { describe, expect, it } from 'vitest';
import { CollectingOutput, keyedBatch, testContext } from '../testing/harness.ts';
import { MAX_WATERMARK } from '../core/watermark.ts';
import { WindowFunctionOperator } from './window-function-operator.ts';

/** Sum of `v` per session of gap 10 (event time), with merge. */
function sessions() {
  const ctx = testContext();
  const out = new CollectingOutput();
  const errors: unknown[] = [];
  const op = new WindowFunctionOperator(
    'fs',
    {
      window: { kind: 'session', gap: 10 },
      eventTime: true,
      agg: {
        create: () => 0,
        add: (a, x) => (a as number) + (x as { v: number }).v,
        merge: (a, b) => (a as number) + (b as number),
        result: (a) => a,
      },
      result: (sum, _key, w) => ({ ...w, sum }),
    },
    ctx,
    (e) => errors.push(e),
    out,
  );
  return { ctx, out, op, errors };
}

describe('function session windows', () => {
  it('merge a record into the open session it touches before judging it late (Flink: merge, then judge)', () => {
    const { ctx, out, op, errors } = sessions();
    op.push(keyedBatch([[{ v: 1 }, 100, ['a']]])); // [100,110): fires at 109
    op.watermark(105);
    // [90,100) alone would have fired (99 ≤ 105), but it touches the open [100,110) → [90,110).
    // [78,88) touches nothing and is late on its own.
    op.push(
      keyedBatch([
        [{ v: 2 }, 90, ['a']],
        [{ v: 4 }, 78, ['a']],
      ]),
    );
    expect(ctx.late).toBe(1);
    op.watermark(MAX_WATERMARK);
    expect(out.records.map((r) => r.rec)).toEqual([{ start: 90, end: 110, sum: 3 }]);
    expect(errors).toEqual([]);
  });
});
