// A rolling aggregate's `ttl`: a key's accumulators expire that long after its last record, in
// processing time, and the key's next record starts a new aggregate.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CollectingOutput, keyedBatch, testContext } from '../testing/harness.ts';
import type { StateStore } from '../state/disk-store.ts';
import { TEST_BACKENDS, trackStores } from '../testing/state-backends.ts';

/** The store the running case's operators open (set per backend in beforeEach); undefined: the heap. */
let openStore: (() => StateStore) | undefined;
import { aggregators } from '../testing/operators.ts';
import { RecordErrors } from './record-errors.ts';
import { RollingAggregateOperator } from './rolling-aggregate.ts';

function rolling(ttlMs: number | undefined) {
  const ctx = testContext({ stateStore: openStore });
  const out = new CollectingOutput();
  const op = new RollingAggregateOperator(
    'agg',
    ['k'],
    aggregators({ n: 'count()' }),
    ctx,
    out,
    new RecordErrors(ctx, undefined),
    ttlMs,
  );
  const push = (k: string): unknown => {
    op.push(keyedBatch([[{ k }, 1, [k]]]));
    op.keyedBackend.maintain(); // the slot's safe point after a batch
    return out.take().map((r) => r['n'])[0];
  };
  return { ctx, op, push };
}

describe.each(TEST_BACKENDS)('rolling aggregate with a ttl ($name)', (tb) => {
  const stores = trackStores(tb);
  beforeEach(() => {
    openStore = stores.open;
  });
  afterEach(() => stores.closeAll());
  it("starts a key over once its accumulators expired, and counts the expiry in the step's metric", () => {
    const { ctx, push } = rolling(1000);
    expect(push('a')).toBe(1);
    ctx.clock.advanceTo(999);
    expect(push('a')).toBe(2);
    // Written at 999: expired from 1999 on.
    ctx.clock.advanceTo(1998);
    expect(push('a')).toBe(3);
    ctx.clock.advanceTo(1998 + 1000);
    expect(ctx.expired).toBe(0);
    expect(push('a')).toBe(1);
    expect(ctx.expired).toBe(1);
  });

  it('keeps accumulators forever without a ttl', () => {
    const { ctx, push } = rolling(undefined);
    expect(push('a')).toBe(1);
    ctx.clock.advanceTo(10 ** 9);
    expect(push('a')).toBe(2);
    expect(ctx.expired).toBe(0);
  });

  it('restores the accumulators with their timestamps', () => {
    const { op, push } = rolling(1000);
    push('a');
    push('a');
    const bytes = op.snapshotState();
    const r = rolling(1000);
    r.ctx.clock.advanceTo(500);
    r.op.restoreState([bytes]);
    r.ctx.clock.advanceTo(999);
    expect(r.push('a')).toBe(3);
    // Both written at 0: a restore at 1000 finds them expired.
    const late = rolling(1000);
    late.op.restoreState([bytes]);
    late.ctx.clock.advanceTo(1000);
    expect(late.push('a')).toBe(1);
  });
});
