import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalKey, keyGroupOf } from '../state/key-groups.ts';
import { KeyedStateBackend } from '../state/keyed-state.ts';
import {
  CollectingOutput,
  inRange,
  keyedBatch,
  sortedJson,
  testContext,
  type TestContext,
  type TestContextOptions,
} from '../testing/harness.ts';
import type { StateStore } from '../state/disk-store.ts';
import { TEST_BACKENDS, trackStores } from '../testing/state-backends.ts';
import { TimerService } from '../time/timer-service.ts';
import { MAX_WATERMARK } from '../core/watermark.ts';
import { DedupeOperator } from './dedupe.ts';
import type { Rec } from '../core/record.ts';

/** The store the running case's operators open (set per backend in beforeEach); undefined: the heap. */
let openStore: (() => StateStore) | undefined;
const context = (o: TestContextOptions = {}): TestContext => testContext({ ...o, stateStore: openStore });

type Item = [Rec, number, unknown[]];
const item = (id: number, v: string, ts: number): Item => [{ id, v }, ts, [id]];

/** The event-time answer: per key, in (ts, canonical record) order, pass, then drop what is < ts + within. */
function reference(items: readonly Item[], within: number): Rec[] {
  const byKey = new Map<string, Item[]>();
  for (const it of items) {
    const k = canonicalKey(it[2]);
    const list = byKey.get(k) ?? [];
    list.push(it);
    byKey.set(k, list);
  }
  const out: Rec[] = [];
  for (const list of byKey.values()) {
    list.sort((a, b) => a[1] - b[1] || (canonicalKey([a[0]]) < canonicalKey([b[0]]) ? -1 : 1));
    let until = Number.NEGATIVE_INFINITY;
    for (const [rec, ts] of list) {
      if (ts < until) continue;
      out.push(rec);
      until = ts + within;
    }
  }
  return out;
}

/** A seeded stream: ids 0..keys−1, timestamps 10 ms apart, each displaced by up to `disorder`. */
function stream(seed: number, n: number, keys: number, disorder: number): Item[] {
  let s = seed;
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const items: Item[] = [];
  for (let i = 0; i < n; i++) {
    const ts = 1_000_000 + i * 10 + Math.floor(rnd() * disorder);
    items.push(item(Math.floor(rnd() * keys), `r${i}`, ts));
  }
  return items.sort((a, b) => a[1] - b[1]);
}

/** Arrival order: the stream read by `lanes` readers at different speeds (bounded disorder). */
function arrival(items: readonly Item[], seed: number, bound: number): Item[] {
  let s = seed;
  const rnd = (): number => {
    s = (s * 69069 + 1) % 4294967296;
    return s / 4294967296;
  };
  // Each record may arrive up to `bound` ms of event time after later ones: still on time.
  return items
    .map((it) => [it, it[1] - Math.floor(rnd() * bound)] as const)
    .sort((a, b) => a[1] - b[1])
    .map(([it]) => it);
}

/** Runs one instance per slot on its key groups; batches of `batch`, watermark = max − bound − 1 after each. */
function run(order: readonly Item[], within: number, bound: number, parallelism: number, batch: number): Rec[] {
  const out = new CollectingOutput();
  const ops = Array.from({ length: parallelism }, (_, slot) => {
    const ctx = context({ slot, parallelism });
    return { op: new DedupeOperator('d', within, ctx, out), range: ctx.keyGroupRange };
  });
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < order.length; i += batch) {
    const chunk = order.slice(i, i + batch);
    for (const { op, range } of ops) {
      op.push(keyedBatch(chunk.filter((it) => inRange(range, keyGroupOf(canonicalKey(it[2]), 128)))));
      op.keyedBackend.maintain(); // the slot's safe point between a batch and a watermark
    }
    for (const it of chunk) max = Math.max(max, it[1]);
    for (const { op } of ops) {
      op.watermark(max - bound - 1);
      op.keyedBackend.maintain();
    }
  }
  for (const { op } of ops) op.watermark(MAX_WATERMARK);
  return out.records.map((e) => e.rec);
}

describe.each(TEST_BACKENDS)('dedupe by event time ($name)', (tb) => {
  const stores = trackStores(tb);
  beforeEach(() => {
    openStore = stores.open;
  });
  afterEach(() => stores.closeAll());
  it('passes the earliest record by event time, whatever the arrival order, batch size and parallelism', () => {
    const within = 300;
    const bound = 150;
    const items = stream(7, 3000, 40, 100);
    const expected = sortedJson(reference(items, within));
    expect(expected.length).toBeGreaterThan(100);
    expect(expected.length).toBeLessThan(items.length);
    for (const [p, batch, seed] of [
      [1, 1, 1],
      [1, 97, 2],
      [2, 500, 3],
      [4, 64, 4],
    ] as const)
      expect(sortedJson(run(arrival(items, seed, bound), within, bound, p, batch))).toEqual(expected);
  });

  it('holds a record until the watermark reaches it, then emits it with its own timestamp', () => {
    const out = new CollectingOutput();
    const op = new DedupeOperator('d', 10, context(), out);
    op.push(keyedBatch([item(1, 'late-arriving', 5), item(1, 'earliest', 2), item(2, 'other', 6)]));
    expect(out.records).toEqual([]);
    expect(op.pendingCount).toBe(3);
    op.watermark(4);
    expect(out.take()).toEqual([{ id: 1, v: 'earliest' }]);
    op.watermark(20);
    expect(out.records).toEqual([{ rec: { id: 2, v: 'other' }, ts: 6 }]);
    expect(out.watermarks).toEqual([4, 20]);
    expect(op.dropped).toBe(1);
    expect(op.pendingCount).toBe(0);
  });

  it("a dropped duplicate leaves its key out of the next delta (the key's `until` is only read)", () => {
    const op = new DedupeOperator('d', 10, context(), new CollectingOutput());
    op.keyedBackend.trackChanges();
    const until = op.keyedBackend.state<number>('until');
    op.push(keyedBatch([item(1, 'first', 2)]));
    op.watermark(3);
    expect([...until.takeChanged().values()].flatMap((keys) => [...keys])).toHaveLength(1);
    op.push(keyedBatch([item(1, 'duplicate', 5)]));
    op.watermark(6);
    expect(op.dropped).toBe(1);
    expect(until.takeChanged().size).toBe(0);
  });

  it('breaks timestamp ties by the canonical record, whatever the arrival order', () => {
    for (const order of [
      ['b', 'a', 'c'],
      ['c', 'b', 'a'],
    ]) {
      const out = new CollectingOutput();
      const op = new DedupeOperator('d', 10, context(), out);
      op.push(keyedBatch(order.map((v) => item(1, v, 3))));
      op.watermark(MAX_WATERMARK);
      expect(out.take()).toEqual([{ id: 1, v: 'a' }]);
    }
  });

  it('decides a record behind the watermark at once against what the key remembers', () => {
    const out = new CollectingOutput();
    const op = new DedupeOperator('d', 10, context(), out);
    op.push(keyedBatch([item(1, 'a', 100)]));
    op.watermark(105);
    expect(out.take()).toEqual([{ id: 1, v: 'a' }]);
    op.push(keyedBatch([item(1, 'late-repeat', 104), item(2, 'late-first', 50)]));
    expect(out.take()).toEqual([{ id: 2, v: 'late-first' }]);
    op.watermark(110); // removes key 1's memory (100 + 10)
    op.push(keyedBatch([item(1, 'after', 109)]));
    expect(out.take()).toEqual([{ id: 1, v: 'after' }]);
  });

  it('keeps pending records and memory through a snapshot restored at another parallelism', () => {
    const within = 300;
    const bound = 150;
    const items = stream(11, 2000, 25, 100);
    const order = arrival(items, 5, bound);
    const out = new CollectingOutput();
    const half = 1000;
    const first = [0, 1].map((slot) => {
      const ctx = context({ slot, parallelism: 2 });
      return { op: new DedupeOperator('d', within, ctx, out), range: ctx.keyGroupRange };
    });
    const feed = (ops: typeof first, chunk: readonly Item[], wm: number): void => {
      for (const { op, range } of ops) {
        op.push(keyedBatch(chunk.filter((it) => inRange(range, keyGroupOf(canonicalKey(it[2]), 128)))));
        op.keyedBackend.maintain(); // safe points: between a batch and a watermark
        op.watermark(wm);
        op.keyedBackend.maintain();
      }
    };
    const wmAfter = (n: number): number => Math.max(...order.slice(0, n).map((it) => it[1])) - bound - 1;
    feed(first, order.slice(0, half), wmAfter(half));
    expect(first.reduce((n, { op }) => n + op.pendingCount, 0)).toBeGreaterThan(0);
    const snapshots = first.map(({ op }) => op.snapshotState());
    const second = [0, 1, 2].map((slot) => {
      const ctx = context({ slot, parallelism: 3 });
      const op = new DedupeOperator('d', within, ctx, out);
      op.restoreState(snapshots);
      return { op, range: ctx.keyGroupRange };
    });
    feed(second, order.slice(half), MAX_WATERMARK);
    expect(sortedJson(out.records.map((e) => e.rec))).toEqual(sortedJson(reference(items, within)));
  });

  it('restores a snapshot of the arrival-order format (until and timers only)', () => {
    const backend = new KeyedStateBackend(128, { start: 0, end: 127 }, openStore);
    const until = backend.state<number>('until');
    new TimerService().bind(backend, 'timers').register(keyGroupOf('[1]', 128), '[1]', 0, 10);
    until.put(keyGroupOf('[1]', 128), '[1]', 10);
    const out = new CollectingOutput();
    const op = new DedupeOperator('d', 10, context(), out);
    op.restoreState([backend.snapshot()]);
    op.push(keyedBatch([item(1, 'repeat', 5), item(1, 'next', 10)]));
    op.watermark(MAX_WATERMARK);
    expect(out.take()).toEqual([{ id: 1, v: 'next' }]);
  });
});
