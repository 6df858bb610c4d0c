// Keyed state with a time-to-live (ttl-state.ts, state-ttl.ts): Flink's StateTtlConfig
// semantics in processing time, on a manual clock.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mergeChain } from './delta-merge.ts';
import { canonicalKey, keyGroupOf } from './key-groups.ts';
import { KeyedStateBackend } from './keyed-state.ts';
import { readSnapshotEntries, readSnapshotHeader } from './snapshot-format.ts';
import { unexpiredFilter, type TtlUpdate } from './state-ttl.ts';
import { ExpiredCount, SWEEP_PER_ACCESS, TtlState } from './ttl-state.ts';
import type { StateStore } from './disk-store.ts';
import { TEST_BACKENDS, trackStores } from '../testing/state-backends.ts';

const MAXP = 16;
const RANGE = { start: 0, end: MAXP - 1 };
const TTL = 100;

/** The store the running case's backends open (set per backend in beforeEach); undefined: the heap. */
let openStore: (() => StateStore) | undefined;

interface Clock {
  t: number;
}

function ttlState(
  clock: Clock,
  update: TtlUpdate = 'OnCreateAndWrite',
  b = new KeyedStateBackend(MAXP, RANGE, openStore),
) {
  const expired = new ExpiredCount();
  const s = new TtlState<number>(
    b,
    'count',
    { toJSON: (v) => v, fromJSON: (j) => j as number },
    { ttlMs: TTL, update },
    () => clock.t,
    expired,
  );
  return { b, s, expired };
}

const at = (k: string): [number, string] => {
  const key = canonicalKey([k]);
  return [keyGroupOf(key, MAXP), key];
};

/** Every entry of a snapshot: state → key → JSON form of the value. */
function entries(bytes: Uint8Array): Map<string, Map<string, unknown>> {
  const out = new Map<string, Map<string, unknown>>();
  for (const [, es] of readSnapshotEntries(bytes).groups)
    for (const e of es) {
      let m = out.get(e.state);
      if (!m) out.set(e.state, (m = new Map()));
      m.set(e.key, e.value);
    }
  return out;
}

describe.each(TEST_BACKENDS)('keyed state with a ttl ($name)', (tb) => {
  const stores = trackStores(tb);
  beforeEach(() => {
    openStore = stores.open;
  });
  afterEach(() => stores.closeAll());
  it('never returns an expired value, and removes it when read', () => {
    const clock = { t: 1000 };
    const { s, expired } = ttlState(clock);
    s.put(...at('a'), 7);
    clock.t = 1000 + TTL - 1;
    expect(s.get(...at('a'))).toBe(7);
    clock.t = 1000 + TTL;
    expect(s.get(...at('a'))).toBeUndefined();
    expect(s.stamped.size).toBe(0);
    expect(expired.take()).toBe(1);
  });

  it('peek: never returns an expired value; an unexpired one read leaves the key out of the next delta', () => {
    const clock = { t: 0 };
    const { b, s, expired } = ttlState(clock);
    b.trackChanges();
    s.put(...at('a'), 7);
    s.stamped.takeChanged();
    clock.t = TTL - 1;
    expect(s.peek(...at('a'))).toBe(7);
    expect(s.stamped.takeChanged().size).toBe(0);
    clock.t = TTL;
    expect(s.peek(...at('a'))).toBeUndefined();
    expect(expired.take()).toBe(1);
    // The removal is a change: the next delta carries it.
    expect([...s.stamped.takeChanged().values()].flatMap((k) => [...k])).toEqual([at('a')[1]]);
    // OnReadAndWrite: a peek is a read, so it renews the value and counts as a change.
    const r = ttlState(clock, 'OnReadAndWrite');
    r.b.trackChanges();
    r.s.put(...at('a'), 1);
    r.s.stamped.takeChanged();
    clock.t += TTL - 1;
    expect(r.s.peek(...at('a'))).toBe(1);
    expect(r.s.stamped.takeChanged().size).toBe(1);
    clock.t += TTL - 1;
    expect(r.s.peek(...at('a'))).toBe(1);
  });

  it('tells its listener of every entry it removes: on access, by the sweep, before a full snapshot', () => {
    const clock = { t: 0 };
    const { b, s } = ttlState(clock);
    const told: [string, number][] = [];
    s.onExpire((_kg, key, v) => told.push([key, v]));
    s.put(...at('a'), 1);
    s.put(...at('b'), 2);
    s.put(...at('c'), 3, -50); // stamped earlier than now: expires at 50
    clock.t = 50;
    expect(s.peek(...at('c'))).toBeUndefined();
    expect(told).toEqual([[at('c')[1], 3]]);
    clock.t = TTL;
    s.sweep(10);
    expect(told.map(([, v]) => v).sort()).toEqual([1, 2, 3]);
    s.put(...at('d'), 4);
    clock.t = 2 * TTL;
    b.snapshot();
    expect(told.map(([, v]) => v).sort()).toEqual([1, 2, 3, 4]);
    // Removed by the caller: not the TTL's, not told.
    s.put(...at('e'), 5);
    s.delete(...at('e'));
    expect(told).toHaveLength(4);
  });

  it('OnCreateAndWrite: reads do not extend a value; writes do', () => {
    const clock = { t: 0 };
    const { b, s } = ttlState(clock, 'OnCreateAndWrite');
    s.put(...at('a'), 1);
    s.put(...at('b'), 1);
    for (let i = 0; i < 10; i++) s.put(...at(`other${i}`), i); // more keys than the disk cache holds
    b.maintain();
    clock.t = 60;
    expect(s.get(...at('a'))).toBe(1);
    s.touch(...at('b')); // b changed in place: a write
    clock.t = 100;
    expect(s.get(...at('a'))).toBeUndefined();
    expect(s.get(...at('b'))).toBe(1);
    clock.t = 160;
    expect(s.get(...at('b'))).toBeUndefined();
  });

  it('OnReadAndWrite: every read extends a value', () => {
    const clock = { t: 0 };
    const { b, s } = ttlState(clock, 'OnReadAndWrite');
    s.put(...at('a'), 1);
    for (let i = 0; i < 10; i++) s.put(...at(`other${i}`), i); // more keys than the disk cache holds
    for (clock.t = 90; clock.t < 1000; clock.t += 90) {
      b.maintain(); // a safe point between records: the stamp changed in place must survive eviction
      expect(s.get(...at('a'))).toBe(1);
    }
    clock.t += 100;
    expect(s.get(...at('a'))).toBeUndefined();
  });

  it('sweeps out keys nobody reads again, a few entries per access', () => {
    const clock = { t: 0 };
    const { b, s, expired } = ttlState(clock);
    for (let i = 0; i < 200; i++) s.put(...at(`old${i}`), i);
    b.maintain();
    clock.t = TTL;
    // Accesses to one live key only: each checks at most SWEEP_PER_ACCESS entries.
    let accesses = 0;
    while (s.stamped.size > 1 && accesses < 10_000) {
      const before = expired.n;
      s.put(...at('live'), accesses++);
      expect(expired.n - before).toBeLessThanOrEqual(SWEEP_PER_ACCESS);
      b.maintain(); // between records: the sweep's cursor lives across safe points
    }
    expect(s.stamped.size).toBe(1);
    expect(expired.take()).toBe(200);
    expect(accesses).toBeGreaterThanOrEqual(200 / SWEEP_PER_ACCESS);
  });

  it('keeps timestamps through a snapshot and a restore, as [lastAccessMs, value]', () => {
    const clock = { t: 10 };
    const { b, s } = ttlState(clock);
    s.put(...at('a'), 5);
    const bytes = b.snapshot();
    expect(readSnapshotHeader(bytes).ttl).toEqual({ count: TTL });
    // Its own version: a runtime that reads only versions 1 and 2 refuses it rather than read the stamp as the value.
    expect(readSnapshotHeader(bytes).version).toBe(4);
    expect(entries(bytes).get('count')?.get(at('a')[1])).toEqual([10, 5]);
    clock.t = 50;
    const r = ttlState(clock);
    r.b.restore([bytes]);
    expect(r.s.stamped.peek(...at('a'))?.at).toBe(10);
    clock.t = 10 + TTL - 1;
    expect(r.s.get(...at('a'))).toBe(5);
    clock.t = 10 + TTL;
    expect(r.s.get(...at('a'))).toBeUndefined();
  });

  it('writes no ttl and no stamp for states without one', () => {
    const b = new KeyedStateBackend(MAXP, RANGE, openStore);
    b.state<number>('count').put(...at('a'), 5);
    const bytes = b.snapshot();
    expect(readSnapshotHeader(bytes).ttl).toBeUndefined();
    expect(readSnapshotHeader(bytes).version).toBe(2);
    expect(entries(bytes).get('count')?.get(at('a')[1])).toBe(5);
  });

  it('stamps a value restored without a ttl with the restore time, and unstamps the other way', () => {
    const plain = new KeyedStateBackend(MAXP, RANGE, openStore);
    plain.state<number>('count').put(...at('a'), 5);
    const clock = { t: 5000 };
    const r = ttlState(clock);
    r.b.restore([plain.snapshot()]);
    expect(r.s.stamped.peek(...at('a'))).toEqual({ at: 5000, v: 5 });
    const back = new KeyedStateBackend(MAXP, RANGE, openStore);
    back.state<number>('count');
    back.restore([r.b.snapshot()]);
    expect(back.state<number>('count').peek(...at('a'))).toBe(5);
  });

  it('writes no expired entry into a full snapshot, without reading it', () => {
    const clock = { t: 0 };
    const { b, s, expired } = ttlState(clock);
    s.put(...at('old'), 1);
    clock.t = 80;
    s.put(...at('new'), 2);
    clock.t = TTL;
    const got = entries(b.snapshot()).get('count');
    expect([...(got?.keys() ?? [])]).toEqual([at('new')[1]]);
    expect(expired.take()).toBe(1);
  });

  it('deltas carry the removal of expired keys, and a merged chain drops those still in it', async () => {
    const clock = { t: 0 };
    const { b, s } = ttlState(clock);
    b.trackChanges();
    for (let i = 0; i < 20; i++) s.put(...at(`k${i}`), i);
    const full = b.snapshotFor(1, undefined);
    expect(full.delta).toBe(false);
    clock.t = 50;
    s.put(...at('late'), 99); // written at 50: lives until 150
    const d2 = b.snapshotFor(2, 1);
    expect(d2.delta).toBe(true);
    // The k* keys expired at 100; a few accesses sweep some out (a delta records their removal),
    // the rest are only in files.
    clock.t = 120;
    s.put(...at('late'), 100);
    const d3 = b.snapshotFor(3, 2);
    const swept = 20 - (s.stamped.size - 1);
    expect(swept).toBeGreaterThan(0);
    expect(swept).toBeLessThan(20);
    const chain = [full.bytes, d2.bytes, d3.bytes];
    const unfiltered = await mergeChain(chain, async () => {});
    expect(entries(unfiltered).get('count')?.size).toBe(21 - swept);
    const merged = await mergeChain(
      chain,
      async () => {},
      (h) => unexpiredFilter(h, clock.t),
    );
    expect(readSnapshotHeader(merged).ttl).toEqual({ count: TTL });
    const got = entries(merged).get('count');
    expect([...(got?.entries() ?? [])]).toEqual([[at('late')[1], [120, 100]]]);
    const r = ttlState(clock);
    r.b.restore([merged]);
    expect(r.s.stamped.size).toBe(1);
    expect(r.s.get(...at('late'))).toBe(100);
  });
});
