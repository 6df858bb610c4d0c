// A dedupe without `within` (keep-first) and a dedupe's `ttl`: a key's `until` expires that long
// (processing time) after its last passed record, and its next record passes again.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_WATERMARK } from '../core/watermark.ts';
import type { Rec } from '../core/record.ts';
import { canonicalKey, keyGroupOf } from '../state/key-groups.ts';
import { readSnapshotHeader } from '../state/snapshot-format.ts';
import type { Timer } from '../time/timer-service.ts';
import type { StateStore } from '../state/disk-store.ts';
import { CollectingOutput, keyedBatch, testContext, type TestContext } from '../testing/harness.ts';
import { checkTtlPromise, dedupeStream, runDedupe } from '../testing/dedupe-ttl-run.ts';
import { TEST_BACKENDS, trackStores } from '../testing/state-backends.ts';
import { DedupeOperator } from './dedupe.ts';

const kgOf = (k: number): [number, string] => {
  const key = canonicalKey([k]);
  return [keyGroupOf(key, 128), key];
};

/** The store the running case's operators open (set per backend in beforeEach); undefined: the heap. */
let openStore: (() => StateStore) | undefined;

function dedupe(withinMs: number | undefined, ttlMs: number | undefined, ctx?: TestContext) {
  const c = ctx ?? testContext({ stateStore: openStore });
  const out = new CollectingOutput();
  const op = new DedupeOperator('d', withinMs, c, out, ttlMs);
  let wm = 0;
  /** Moves the clock to `now`, pushes a record of key `k` at event time `ts`, then the watermark to `ts`. */
  const send = (k: number, ts: number, now: number): string[] => {
    c.clock.advanceTo(now);
    op.push(keyedBatch([[{ k, v: `${k}@${ts}` }, ts, [k]]]));
    op.keyedBackend.maintain();
    wm = Math.max(wm, ts);
    op.watermark(wm);
    op.keyedBackend.maintain();
    return out.take().map((r: Rec) => r['v'] as string);
  };
  return { ctx: c, op, out, send };
}

describe.each(TEST_BACKENDS)('dedupe without within, with a ttl ($name)', (tb) => {
  const stores = trackStores(tb);
  beforeEach(() => {
    openStore = stores.open;
  });
  afterEach(() => stores.closeAll());

  it('without within keeps the first record per key for ever, and registers no cleanup timer', () => {
    const { ctx, op, send } = dedupe(undefined, undefined);
    expect(send(1, 10, 0)).toEqual(['1@10']);
    expect(send(2, 11, 0)).toEqual(['2@11']);
    expect(send(1, 10 ** 9, 10 ** 9)).toEqual([]);
    op.watermark(MAX_WATERMARK);
    expect(op.rememberedCount).toBe(2);
    expect(op.keyedBackend.state('timers').size).toBe(0);
    expect(ctx.expired).toBe(0);
  });

  it('drops an unexpired duplicate, passes a key again once its ttl passed, and counts the expiry', () => {
    const { ctx, send } = dedupe(undefined, 1000);
    expect(send(1, 10, 0)).toEqual(['1@10']);
    // A dropped duplicate only reads: it does not renew the key (OnCreateAndWrite).
    expect(send(1, 20, 999)).toEqual([]);
    expect(ctx.expired).toBe(0);
    expect(send(1, 30, 1000)).toEqual(['1@30']);
    expect(ctx.expired).toBe(1);
    expect(send(1, 40, 1999)).toEqual([]);
    expect(send(1, 50, 2000)).toEqual(['1@50']);
  });

  it('sweeps keys nobody sends again', () => {
    const { ctx, op, send } = dedupe(undefined, 1000);
    for (let k = 0; k < 40; k++) send(k, k, 0);
    expect(op.rememberedCount).toBe(40);
    // Records of one other key: each decision checks a few more entries along the sweep.
    for (let i = 0; i < 200; i++) send(1000, 100 + i, 1000 + i);
    expect(op.rememberedCount).toBe(1);
    expect(ctx.expired).toBe(40);
  });

  it('with within and a shorter ttl: the ttl forgets first and takes the cleanup timer along', () => {
    const { op, send } = dedupe(10_000, 1000);
    const timers = (k: number): number[] => {
      const v = op.keyedBackend.state<Timer | Timer[]>('timers').peek(...kgOf(k));
      return (v === undefined ? [] : Array.isArray(v) ? v : [v]).map((t) => t.ts);
    };
    expect(send(1, 100, 0)).toEqual(['1@100']); // until 10100, cleanup timer at 10100
    expect(timers(1)).toEqual([10_100]);
    expect(send(1, 200, 1000)).toEqual(['1@200']); // expired by the ttl: until 10200
    expect(timers(1)).toEqual([10_200]);
    expect(send(2, 10_150, 1100)).toEqual(['2@10150']); // the watermark passes 10100
    expect(send(1, 10_160, 1200)).toEqual([]); // still before 10200
    expect(send(1, 10_200, 1300)).toEqual(['1@10200']);
  });

  it('a cleanup timer whose until is gone (a compacted chain) finds nothing, or a newer until it leaves', () => {
    const { op, send } = dedupe(10_000, 1000);
    send(1, 100, 0); // until 10100, cleanup timer at 10100
    const bytes = op.snapshotState();
    // What a chain compacted after the ttl holds: the timer without its until.
    const r = dedupe(10_000, 1000);
    r.op.restoreState([bytes]);
    const until = r.op.keyedBackend.state('until');
    until.delete(...kgOf(1));
    expect(r.send(1, 200, 1000)).toEqual(['1@200']); // until 10200; the old timer at 10100 stays
    expect(r.send(2, 10_150, 1100)).toEqual(['2@10150']); // it fires, and leaves 10200
    expect(r.send(1, 10_160, 1200)).toEqual([]);
    expect(r.send(1, 10_200, 1300)).toEqual(['1@10200']);
  });

  it('writes the until state with its ttl into the snapshot header', () => {
    const { op, send } = dedupe(undefined, 1000);
    send(1, 10, 0);
    expect(readSnapshotHeader(op.snapshotState()).ttl).toEqual({ until: 1000 });
    const plain = dedupe(undefined, undefined);
    plain.send(1, 10, 0);
    expect(readSnapshotHeader(plain.op.snapshotState()).ttl).toBeUndefined();
  });

  it('restores with and without a ttl: the stamps kept, a plain key stamped at the restore, a stamp dropped', () => {
    const a = dedupe(undefined, 1000);
    a.send(1, 10, 0);
    const stamped = a.op.snapshotState();
    const same = dedupe(undefined, 1000);
    same.ctx.clock.advanceTo(500);
    same.op.restoreState([stamped]);
    expect(same.send(1, 20, 999)).toEqual([]);
    expect(same.send(1, 30, 1000)).toEqual(['1@30']);
    // Restored without a ttl: the key is remembered for ever.
    const noTtl = dedupe(undefined, undefined);
    noTtl.op.restoreState([stamped]);
    expect(noTtl.send(1, 20, 10 ** 9)).toEqual([]);
    // A plain snapshot restored with a ttl: the key's ttl starts at the restore.
    const b = dedupe(undefined, undefined);
    b.send(1, 10, 0);
    const later = dedupe(undefined, 1000);
    later.ctx.clock.advanceTo(5000);
    later.op.restoreState([b.op.snapshotState()]);
    expect(later.send(1, 20, 5999)).toEqual([]);
    expect(later.send(1, 30, 6000)).toEqual(['1@30']);
  });

  it('passes a late record of a forgotten key at once', () => {
    const { ctx, send } = dedupe(undefined, 1000);
    expect(send(1, 100, 0)).toEqual(['1@100']);
    expect(send(1, 50, 2000)).toEqual(['1@50']); // behind the watermark (100): decided at once
    expect(ctx.lateDecided).toBe(1);
  });
});

describe('a keep-first dedupe with a ttl against one without', () => {
  it('drops only what the plain one drops, and decides alike what is within the ttl of its key’s first record', () => {
    const ttlMs = 60_000;
    const s = dedupeStream({
      records: 20_000,
      stepMs: 50,
      newKeyShare: 0.3,
      gapMinMs: 1000,
      gapMaxMs: 4 * ttlMs,
      seed: 42,
    });
    const o = { batch: 16, sampleEveryMs: ttlMs };
    const plain = runDedupe(s, { ...o, ttlMs: undefined });
    const ttl = runDedupe(s, { ...o, ttlMs });
    const c = checkTtlPromise(s, plain, ttl, ttlMs);
    expect(c.droppedOnlyWithTtl).toBe(0);
    expect(c.promisedDiffering).toBe(0);
    // The check has something to check: both kinds of records occur.
    expect(c.promised).toBeGreaterThan(5000);
    expect(c.passedOnlyWithTtl).toBeGreaterThan(500);
    // Bounded against growing: the ttl's state holds about a ttl's worth of new keys.
    const last = (r: typeof plain): number => (r.samples[r.samples.length - 1] as [number, number])[1];
    expect(last(ttl)).toBeLessThan(last(plain) / 3);
    expect(ttl.expired).toBeGreaterThan(0);
  });
});
