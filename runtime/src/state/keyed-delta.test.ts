import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTributaryError } from '../errors.ts';
import { canonicalKey, keyGroupOf, keyGroupRangeForSlot } from './key-groups.ts';
import { KeyedStateBackend, type StateSerializer } from './keyed-state.ts';
import { mergeChain } from './delta-merge.ts';
import { readSnapshotEntries, readSnapshotHeader } from './snapshot-format.ts';
import type { StateStore } from './disk-store.ts';
import { TEST_BACKENDS, trackStores } from '../testing/state-backends.ts';

const MAXP = 32;
const LIST: StateSerializer<number[]> = { toJSON: (v) => v, fromJSON: (j) => j as number[] };

/** The store the running case's backends open (set per backend in beforeEach); undefined: the heap. */
let openStore: (() => StateStore) | undefined;

/** A backend with a value state and a list state changed in place, as operators do. */
function backend(range = { start: 0, end: MAXP - 1 }): KeyedStateBackend {
  const b = new KeyedStateBackend(MAXP, range, openStore);
  b.state<number>('count');
  b.state<number[]>('list', LIST);
  b.trackChanges();
  return b;
}

/** Deterministic pseudo-random numbers (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** One random change: a put, an in-place change after `get`, or a delete. */
function change(b: KeyedStateBackend, r: () => number, keys: number): void {
  const key = canonicalKey([`k${Math.floor(r() * keys)}`]);
  const kg = keyGroupOf(key, MAXP);
  if (!b.owns(kg)) return;
  const pick = r();
  const count = b.state<number>('count');
  const list = b.state<number[]>('list', LIST);
  if (pick < 0.4) count.put(kg, key, (count.get(kg, key) ?? 0) + 1);
  else if (pick < 0.8) {
    const l = list.get(kg, key);
    if (l) l.push(Math.floor(r() * 100));
    else list.put(kg, key, [1]);
  } else if (pick < 0.9) count.delete(kg, key);
  else list.delete(kg, key);
  b.maintain(); // a safe point between records: the disk store evicts here
}

/** Every entry of a full snapshot, sorted, as JSON text: equal iff the states are equal. */
function entriesOf(b: KeyedStateBackend): string {
  const { groups } = readSnapshotEntries(b.snapshot());
  return JSON.stringify(
    groups.map(([kg, es]) => [kg, [...es].sort((x, y) => (x.key + x.state < y.key + y.state ? -1 : 1))]),
  );
}

function restored(files: Uint8Array[], range = { start: 0, end: MAXP - 1 }): KeyedStateBackend {
  const b = new KeyedStateBackend(MAXP, range, openStore);
  b.state<number>('count');
  b.state<number[]>('list', LIST);
  b.restore(files);
  return b;
}

describe.each(TEST_BACKENDS)('incremental snapshots (deltas) ($name)', (tb) => {
  const stores = trackStores(tb);
  beforeEach(() => {
    openStore = stores.open;
  });
  afterEach(() => stores.closeAll());
  it('a full snapshot and its chain of deltas restore exactly the state of the newest delta', () => {
    const r = rng(7);
    const b = backend();
    for (let i = 0; i < 2000; i++) change(b, r, 500);
    const chain: Uint8Array[] = [];
    const first = b.snapshotFor(1, undefined);
    expect(first.delta).toBe(false);
    chain.push(first.bytes);
    for (let id = 2; id <= 9; id++) {
      for (let i = 0; i < 300; i++) change(b, r, 500);
      const s = b.snapshotFor(id, id - 1);
      expect(s.delta).toBe(true);
      expect(readSnapshotHeader(s.bytes)).toMatchObject({ version: 3, kind: 'delta', base: id - 1 });
      chain.push(s.bytes);
      expect(entriesOf(restored(chain))).toBe(entriesOf(b));
    }
    // A delta holds only what changed: far smaller than the whole state.
    expect((chain[8] as Uint8Array).length).toBeLessThan((chain[0] as Uint8Array).length);
  });

  it('a delta on an older base (a checkpoint in between was aborted) still holds every change since that base', () => {
    const r = rng(11);
    const b = backend();
    for (let i = 0; i < 1000; i++) change(b, r, 300);
    const base = b.snapshotFor(1, undefined).bytes;
    for (let i = 0; i < 200; i++) change(b, r, 300);
    b.snapshotFor(2, 1); // aborted: never part of a chain
    for (let i = 0; i < 200; i++) change(b, r, 300);
    b.snapshotFor(3, undefined); // a savepoint-like full snapshot, not a base
    for (let i = 0; i < 200; i++) change(b, r, 300);
    const d = b.snapshotFor(4, 1);
    expect(d.delta).toBe(true);
    expect(entriesOf(restored([base, d.bytes]))).toBe(entriesOf(b));
  });

  it('no delta on a base taken before a restore or a key-group move: the next snapshot is full', () => {
    const r = rng(3);
    const b = backend();
    for (let i = 0; i < 500; i++) change(b, r, 200);
    const full = b.snapshotFor(1, undefined).bytes;
    b.restore([full]);
    expect(b.snapshotFor(2, 1).delta).toBe(false);
    expect(b.snapshotFor(3, 2).delta).toBe(true);
    b.releaseKeyGroups([0, 1]);
    expect(b.snapshotFor(4, 3).delta).toBe(false);
  });

  it('a restore at another parallelism reads each slot’s chain for its own key groups', () => {
    const r = rng(5);
    const olds = [0, 1].map((s) => backend(keyGroupRangeForSlot(s, 2, MAXP)));
    for (let i = 0; i < 3000; i++) for (const b of olds) change(b, r, 800);
    const bases = olds.map((b) => b.snapshotFor(1, undefined).bytes);
    for (let i = 0; i < 500; i++) for (const b of olds) change(b, r, 800);
    const deltas = olds.map((b) => b.snapshotFor(2, 1).bytes);
    const news = [0, 1, 2].map((s) => restored([...bases, ...deltas], keyGroupRangeForSlot(s, 3, MAXP)));
    const union = (bs: KeyedStateBackend[]): string[] =>
      bs
        .flatMap((b) => JSON.parse(entriesOf(b)) as unknown[])
        .map((g) => JSON.stringify(g))
        .sort();
    expect(union(news)).toEqual(union(olds));
  });

  it('a chain merged into one full snapshot restores the same state as the chain', async () => {
    const r = rng(13);
    const b = backend();
    for (let i = 0; i < 3000; i++) change(b, r, 700);
    const chain = [b.snapshotFor(1, undefined).bytes];
    for (let id = 2; id <= 6; id++) {
      for (let i = 0; i < 400; i++) change(b, r, 700);
      chain.push(b.snapshotFor(id, id - 1).bytes);
    }
    let pauses = 0;
    const merged = await mergeChain(chain, () => {
      pauses++;
      return Promise.resolve();
    });
    expect(readSnapshotHeader(merged)).toMatchObject({ version: 2, states: ['count', 'list'] });
    expect(readSnapshotHeader(merged)).not.toHaveProperty('kind');
    expect(entriesOf(restored([merged]))).toBe(entriesOf(b));
    expect(pauses).toBeGreaterThan(1);
    // A later delta on the last link still applies on top of the merged file.
    for (let i = 0; i < 400; i++) change(b, r, 700);
    const next = b.snapshotFor(7, 6).bytes;
    expect(entriesOf(restored([merged, next]))).toBe(entriesOf(b));
  });

  it('a corrupt delta is refused with TRIB_STATE_CORRUPT', () => {
    const b = backend();
    const r = rng(9);
    for (let i = 0; i < 100; i++) change(b, r, 50);
    const base = b.snapshotFor(1, undefined).bytes;
    for (let i = 0; i < 100; i++) change(b, r, 50);
    const d = b.snapshotFor(2, 1).bytes.slice();
    d[d.length - 10] = (d[d.length - 10] as number) ^ 0xff;
    try {
      restored([base, d]);
      expect.unreachable();
    } catch (e) {
      expect(isTributaryError(e) && e.code).toBe('TRIB_STATE_CORRUPT');
    }
  });
});
