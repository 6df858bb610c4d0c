// A rolling aggregate (with a ttl that never runs out, so its accumulators are TtlState entries),
// a dedupe and a tumbling window with allowed lateness (windows and timers on disk) over 5,000
// keys with their keyed state in a disk store whose cache holds 4 entries,
// safe points between batches and watermarks as a slot's loop has them: an incremental
// checkpoint chain (a full snapshot, then deltas), a crash after it, and a restore at another
// parallelism (2 → 3 slots) into the heap and into disk stores give the heap-only run's state
// and output.
import { afterEach, describe, expect, it } from 'vitest';
import type { Rec } from '../core/record.ts';
import { MAX_WATERMARK } from '../core/watermark.ts';
import { DedupeOperator } from './dedupe.ts';
import { IntervalJoinOperator } from './interval-join.ts';
import { RollingAggregateOperator } from './rolling-aggregate.ts';
import { WindowAggregateOperator } from './window-aggregate.ts';
import { CollectingOutput, inRange, keyedBatch, sortedJson, testContext } from '../testing/harness.ts';
import { aggregators } from '../testing/operators.ts';
import { TEST_BACKENDS, TEST_CACHE_ENTRIES, trackStores, type TrackedStores } from '../testing/state-backends.ts';
import type { DiskStore } from '../state/disk-store.ts';
import { canonicalKey, keyGroupOf, type KeyGroupRange } from '../state/key-groups.ts';
import { KeyedStateBackend } from '../state/keyed-state.ts';

const MAXP = 128;
const KEYS = 5000;
const RECORDS = 16_000;
const BATCH = 400;
/** Records arrive up to JITTER ms of event time out of order; the watermark trails by BOUND (never late). */
const JITTER = 40;
const BOUND = 100;
const WITHIN = 30;
const TTL = 3_600_000;
/** Checkpoints after these many batches: 1 full, 2 and 3 deltas; the crash comes CRASH_AFTER batches later. */
const CHECKPOINTS = [10, 20, 30];
const CRASH_AFTER = 4;

type Item = [Rec, number, unknown[]];

/** Every key once, then random keys; timestamps 2 ms apart, each late by up to JITTER. */
function stream(): Item[] {
  let x = 12345;
  const r = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  return Array.from({ length: RECORDS }, (_, i): Item => {
    const u = `u${i < KEYS ? i : Math.floor(r() * KEYS)}`;
    return [{ u, v: Math.floor(r() * 1000) }, 1_000_000 + 2 * i + Math.floor(r() * JITTER), [u]];
  });
}

/** Both operators of one slot, writing to the run's outputs. */
interface Slot {
  range: KeyGroupRange;
  agg: RollingAggregateOperator;
  dedupe: DedupeOperator;
  win: WindowAggregateOperator;
}

interface Outputs {
  agg: CollectingOutput;
  dedupe: CollectingOutput;
  win: CollectingOutput;
}

function slots(parallelism: number, stores: TrackedStores, out: Outputs): Slot[] {
  return Array.from({ length: parallelism }, (_, slot) => {
    const ctx = testContext({ slot, parallelism, maxParallelism: MAXP, stateStore: stores.open });
    const aggs = aggregators({ n: 'count()', total: 'sum(v)' });
    return {
      range: ctx.keyGroupRange,
      agg: new RollingAggregateOperator('agg', ['u'], aggs, ctx, out.agg, undefined, TTL),
      dedupe: new DedupeOperator('dedupe', WITHIN, ctx, out.dedupe),
      win: new WindowAggregateOperator(
        'win',
        {
          window: { kind: 'tumbling', size: 40, offset: 0 },
          eventTime: true,
          allowedLateness: 30,
          keyFields: ['u'],
          aggregates: aggregators({ n: 'count()', total: 'sum(v)' }),
        },
        ctx,
        out.win,
        undefined,
      ),
    };
  });
}

const backends = (s: Slot): [RollingAggregateOperator, DedupeOperator, WindowAggregateOperator] => [
  s.agg,
  s.dedupe,
  s.win,
];

/** Batches `from` to `to` (exclusive), each to every slot, with a safe point after each batch and each watermark. */
function feed(ss: Slot[], items: readonly Item[], from: number, to: number): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = from * BATCH; i < Math.min(to * BATCH, items.length); i += BATCH) {
    const chunk = items.slice(i, i + BATCH);
    for (const it of chunk) max = Math.max(max, it[1]);
    for (const s of ss) {
      const mine = chunk.filter((it) => inRange(s.range, keyGroupOf(canonicalKey(it[2]), MAXP)));
      for (const op of backends(s)) {
        op.push(keyedBatch(mine, MAXP));
        op.keyedBackend.maintain();
      }
      for (const op of [s.dedupe, s.win]) {
        // Windows see their watermark trail further: some records come within the allowed lateness.
        op.watermark(max - (op === s.win ? BOUND / 4 : BOUND) - 1);
        op.keyedBackend.maintain();
      }
    }
  }
}

/** Every entry of every state of the slots' operators, as sorted JSON lines (state contents, whatever the slot). */
function contents(ss: Slot[]): string[] {
  const out: string[] = [];
  for (const s of ss)
    for (const op of backends(s))
      for (const name of ['accumulators', 'until', 'pending', 'windows'])
        if (op.keyedBackend.hasState(name)) {
          const st = op.keyedBackend.state(name);
          for (const [kg, key, v] of st.entries())
            out.push(JSON.stringify([op.stateName, name, kg, key, st.serializer.toJSON(v)]));
        }
  return out.sort();
}

/** The stores' decoded entries are within budget after a safe point (the disk runs evict). */
function expectWithinBudget(stores: TrackedStores): void {
  for (const s of stores.opened) expect((s as DiskStore).cached).toBeLessThanOrEqual(TEST_CACHE_ENTRIES);
}

interface Result {
  /** State right after the restore (3 slots). */
  restored: string[];
  /** State at the end. */
  final: string[];
  agg: string[];
  dedupe: string[];
  win: string[];
}

/**
 * At 2 slots on `first`: checkpoints 1 (full), 2 and 3 (deltas), a few batches more, a crash
 * (the output since checkpoint 3 is dropped, as a transactional sink drops it); then at 3 slots
 * on `second`, restored from the chain, the rest of the stream from checkpoint 3 on.
 */
function run(items: readonly Item[], first: TrackedStores, second: TrackedStores): Result {
  const out = { agg: new CollectingOutput(), dedupe: new CollectingOutput(), win: new CollectingOutput() };
  const two = slots(2, first, out);
  for (const s of two) for (const op of backends(s)) op.keyedBackend.trackChanges();
  const chains = two.map(() => [[], [], []] as Uint8Array[][]);
  let done = 0;
  let kept = { agg: 0, dedupe: 0, win: 0 };
  CHECKPOINTS.forEach((at, c) => {
    feed(two, items, done, at);
    done = at;
    two.forEach((s, i) =>
      backends(s).forEach((op, j) => {
        const snap = op.keyedBackend.snapshotFor(c + 1, c === 0 ? undefined : c);
        expect(snap.delta).toBe(c > 0);
        (chains[i] as Uint8Array[][])[j]?.push(snap.bytes);
      }),
    );
    kept = { agg: out.agg.records.length, dedupe: out.dedupe.records.length, win: out.win.records.length };
  });
  feed(two, items, done, done + CRASH_AFTER);
  expectWithinBudget(first);
  out.agg.records.splice(kept.agg);
  out.dedupe.records.splice(kept.dedupe);
  out.win.records.splice(kept.win);

  const three = slots(3, second, out);
  // Each operator restores every old slot's chain, oldest first per slot (restore-plan.ts).
  for (const s of three)
    backends(s).forEach((op, j) => op.restoreState(chains.flatMap((perOp) => perOp[j] as Uint8Array[])));
  const restored = contents(three);
  feed(three, items, done, Infinity);
  for (const s of three)
    for (const op of [s.dedupe, s.win]) {
      op.watermark(MAX_WATERMARK);
      op.keyedBackend.maintain();
    }
  expectWithinBudget(second);
  const recs = (o: CollectingOutput): string[] => sortedJson(o.records.map((e) => e.rec));
  return { restored, final: contents(three), agg: recs(out.agg), dedupe: recs(out.dedupe), win: recs(out.win) };
}

/** One slot on the heap, no checkpoint: what every run must output. */
function uninterrupted(items: readonly Item[], heap: TrackedStores): Pick<Result, 'agg' | 'dedupe' | 'win'> {
  const out = { agg: new CollectingOutput(), dedupe: new CollectingOutput(), win: new CollectingOutput() };
  const [one] = slots(1, heap, out) as [Slot];
  feed([one], items, 0, Infinity);
  one.dedupe.watermark(MAX_WATERMARK);
  one.win.watermark(MAX_WATERMARK);
  const recs = (o: CollectingOutput): string[] => sortedJson(o.records.map((e) => e.rec));
  return { agg: recs(out.agg), dedupe: recs(out.dedupe), win: recs(out.win) };
}

describe('operators on the disk store (cache 4) over 5,000 keys', () => {
  const [heapBackend, diskBackend] = TEST_BACKENDS as [(typeof TEST_BACKENDS)[0], (typeof TEST_BACKENDS)[0]];
  const heap = trackStores(heapBackend);
  const disk = trackStores(diskBackend);
  afterEach(() => disk.closeAll());

  // Three runs through disk stores of 4 entries: seconds of lmdb work, more on a loaded machine.
  it('an incremental chain restored at 3 slots into the heap and into disk stores equals the heap-only run', () => {
    const items = stream();
    const reference = run(items, heap, heap);
    const once = uninterrupted(items, heap);
    expect(reference.agg).toEqual(once.agg);
    expect(reference.dedupe).toEqual(once.dedupe);
    expect(reference.win).toEqual(once.win);
    expect(reference.win.length).toBeGreaterThan(KEYS);
    expect(reference.agg).toHaveLength(RECORDS);
    expect(reference.dedupe.length).toBeGreaterThan(KEYS);
    expect(reference.restored.length).toBeGreaterThan(KEYS);

    const toHeap = run(items, disk, heap);
    expect(toHeap.restored).toEqual(reference.restored);
    expect(toHeap).toEqual(reference);
    disk.closeAll();
    const toDisk = run(items, disk, disk);
    expect(toDisk.restored).toEqual(reference.restored);
    expect(toDisk).toEqual(reference);
  }, 90_000);
});

describe('a rolling aggregate of every aggregate function on the disk store (cache 4)', () => {
  const disk = trackStores(TEST_BACKENDS[1] as (typeof TEST_BACKENDS)[0]);
  afterEach(() => disk.closeAll());

  /** Each key's aggregates after every record, with a safe point (eviction on disk) after each batch of 7. */
  function outputs(stores: TrackedStores): string[] {
    const out = new CollectingOutput();
    const ctx = testContext({ stateStore: stores.open });
    const spec = {
      n: 'count()',
      total: 'sum(v)',
      mean: 'avg(v)',
      low: 'min(v)',
      high: 'max(s)',
      newest: 'max(t)',
      kinds: 'countDistinct(s)',
      head: 'first(v)',
      tail: 'last(o)',
    };
    const op = new RollingAggregateOperator('agg', ['k'], aggregators(spec), ctx, out);
    let x = 7;
    const r = (n: number): number => (x = (x * 1103515245 + 12345) % 2147483648) % n;
    for (let b = 0; b < 300; b++) {
      const items = Array.from({ length: 7 }, (_, i): Item => {
        const k = `k${r(40)}`;
        const v = r(7) === 0 ? null : r(1000) - 500;
        const rec = { k, v, s: `s${r(9)}`, t: new Date(1_700_000_000_000 + r(10 ** 6)), o: { a: [r(3)], b: 'x' } };
        return [rec, b * 10 + i, [k]];
      });
      op.push(keyedBatch(items));
      op.keyedBackend.maintain();
    }
    expect(ctx.exprErrors).toEqual([]);
    const text = (_: string, v: unknown): unknown => (typeof v === 'bigint' ? `${v}n` : v);
    return out.records.map((e) => JSON.stringify([e.ts, e.rec], text));
  }

  it('outputs what the heap outputs, record by record', () => {
    const onHeap = outputs(trackStores(TEST_BACKENDS[0] as (typeof TEST_BACKENDS)[0]));
    expect(onHeap).toHaveLength(2100);
    expect(outputs(disk)).toEqual(onHeap);
    expectWithinBudget(disk);
  });
});

describe('a delta snapshot on the disk store (cache 4)', () => {
  const disk = trackStores(TEST_BACKENDS[1] as (typeof TEST_BACKENDS)[0]);
  afterEach(() => disk.closeAll());

  it('reads the changed keys without caching them: the cache stays as the last safe point left it', () => {
    const b = new KeyedStateBackend(MAXP, { start: 0, end: MAXP - 1 }, disk.open);
    const s = b.state<number>('n');
    b.trackChanges();
    const at = (i: number): [number, string] => {
      const key = canonicalKey([`k${i}`]);
      return [keyGroupOf(key, MAXP), key];
    };
    for (let i = 0; i < 1000; i++) s.put(...at(i), i);
    b.snapshotFor(1, undefined);
    b.maintain();
    for (let i = 0; i < 1000; i += 2) s.put(...at(i), -i);
    b.maintain();
    const store = disk.opened[0] as DiskStore;
    const cached = store.cached;
    expect(cached).toBeLessThanOrEqual(TEST_CACHE_ENTRIES);
    const d = b.snapshotFor(2, 1);
    expect(d.delta).toBe(true);
    expect(store.cached).toBe(cached);
    const r = new KeyedStateBackend(MAXP, { start: 0, end: MAXP - 1 });
    r.state<number>('n');
    r.restore([b.snapshot(), d.bytes]);
    expect(r.state<number>('n').peek(...at(500))).toBe(-500);
    expect(r.state<number>('n').peek(...at(501))).toBe(501);
  });
});

describe('records kept in keyed state on the disk store (cache 4)', () => {
  const disk = trackStores(TEST_BACKENDS[1] as (typeof TEST_BACKENDS)[0]);
  afterEach(() => disk.closeAll());

  /** An interval join whose left records carry a timestamp field (a Date), evicted before their match arrives. */
  function joined(stores: TrackedStores): Rec[] {
    const out = new CollectingOutput();
    const cfg = { lowerBound: -5, upperBound: 10, select: undefined };
    const op = new IntervalJoinOperator('j', cfg, testContext({ stateStore: stores.open }), out);
    for (let i = 0; i < 10; i++) {
      op.pushInput(0, keyedBatch([[{ u: `k${i}`, at: new Date(1000 + i) }, 100, [`k${i}`]]]));
      op.keyedBackend.maintain();
    }
    op.pushInput(1, keyedBatch([[{ u: 'k0', x: 1 }, 101, ['k0']]]));
    return out.take();
  }

  // The local store writes Dates with their own tag (state-codec.ts): eviction keeps them Dates.
  it('come back with the types the heap keeps (a Date stays a Date)', () => {
    const onHeap = joined(trackStores(TEST_BACKENDS[0] as (typeof TEST_BACKENDS)[0]));
    expect(onHeap[0]?.['at']).toBeInstanceOf(Date);
    expect(joined(disk)).toEqual(onHeap);
  });
});
