import { afterEach, describe, expect, it } from 'vitest';
import { isTributaryError } from '../errors.ts';
import { canonicalKey, keyGroupOf } from './key-groups.ts';
import { KeyedStateBackend, type StateSerializer } from './keyed-state.ts';
import { readSnapshotEntries } from './snapshot-format.ts';
import { DiskStore } from './disk-store.ts';
import { TEST_CACHE_ENTRIES, TEST_STATE_DIR } from '../testing/state-backends.ts';

const MAXP = 16;
const LIST: StateSerializer<number[]> = { toJSON: (v) => v, fromJSON: (j) => j as number[] };
const stores: DiskStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close(true);
});

/** A backend with a value state and a list state; `disk`: in a store with a tiny cache. */
function backend(disk: boolean): KeyedStateBackend {
  const open = disk
    ? (): DiskStore => {
        const s = new DiskStore(TEST_STATE_DIR, TEST_CACHE_ENTRIES);
        stores.push(s);
        return s;
      }
    : undefined;
  const b = new KeyedStateBackend(MAXP, { start: 0, end: MAXP - 1 }, open);
  b.snapshotSliceMs = 0; // a yield after every 1,024 entries: the changes below land between slices
  b.state<number>('count');
  b.state<number[]>('list', LIST);
  b.trackChanges();
  return b;
}

function put(b: KeyedStateBackend, i: number, v: number): void {
  const key = canonicalKey([`k${i}`]);
  const kg = keyGroupOf(key, MAXP);
  b.state<number>('count').put(kg, key, v);
  if (i % 3 === 0) b.state<number[]>('list', LIST).put(kg, key, [v, i]);
}

function remove(b: KeyedStateBackend, i: number): void {
  const key = canonicalKey([`k${i}`]);
  const kg = keyGroupOf(key, MAXP);
  b.state<number>('count').delete(kg, key);
  b.state<number[]>('list', LIST).delete(kg, key);
}

/** A snapshot's entries per state, as `state|key → value`, whatever the order they were written in. */
function contents(bytes: Uint8Array): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const [, entries] of readSnapshotEntries(bytes).groups)
    for (const e of entries) m.set(`${e.state}|${e.key}`, e.value);
  return m;
}

describe('full snapshots of a disk store', () => {
  it('copies stored bytes: the same entries as the heap writes, and a restore gets them back', () => {
    const heap = backend(false);
    const disk = backend(true);
    for (const b of [heap, disk]) {
      for (let i = 0; i < 500; i++) put(b, i, i * 2);
      for (let i = 0; i < 500; i += 7) remove(b, i);
    }
    const bytes = disk.snapshot();
    expect(contents(bytes)).toEqual(contents(heap.snapshot()));
    const back = backend(false);
    back.restore([bytes]);
    expect(contents(back.snapshot())).toEqual(contents(heap.snapshot()));
    // A disk backend loads the snapshot's bytes as they are; its reads decode them as a restore would.
    const onDisk = backend(true);
    onDisk.restore([bytes]);
    expect(contents(onDisk.snapshot())).toEqual(contents(heap.snapshot()));
    const key = canonicalKey(['k3']);
    expect(onDisk.state<number[]>('list', LIST).get(keyGroupOf(key, MAXP), key)).toEqual([6, 3]);
    expect(onDisk.state<number>('count').get(keyGroupOf(key, MAXP), key)).toBe(6);
  });

  it('written later from a view fixed at the barrier: changes made meanwhile are not in it', async () => {
    const disk = backend(true);
    const twin = backend(false);
    for (let i = 0; i < 40_000; i++) for (const b of [disk, twin]) put(b, i, i);
    const expected = contents(twin.snapshot());
    const { bytes, delta } = disk.snapshotFor(1, undefined, true);
    expect(delta).toBe(false);
    expect(bytes).toBeInstanceOf(Promise);
    let changed = 0;
    const meanwhile = setInterval(() => {
      for (let n = 0; n < 500; n++, changed++) {
        if (changed % 2 === 0) put(disk, changed, -1);
        else remove(disk, changed);
      }
      disk.maintain();
    }, 0);
    const got = await bytes;
    clearInterval(meanwhile);
    expect(changed).toBeGreaterThan(0);
    expect(contents(got)).toEqual(expected);
    // The changes are in the store, and in the next snapshot.
    expect(contents(disk.snapshot())).not.toEqual(expected);
  });

  it('a value kept as a Date is written as a snapshot writes it (its ISO string), now', () => {
    const disk = backend(true);
    const at = new Date(Date.UTC(2026, 10, 29));
    const s = disk.state<unknown>('when');
    const key = canonicalKey(['d']);
    s.put(keyGroupOf(key, MAXP), key, { at });
    disk.maintain();
    const { bytes } = disk.snapshotFor(1, undefined, true);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(contents(bytes as Uint8Array).get(`when|${key}`)).toEqual({ at: at.toISOString() });
  });

  it('fails, naming the store, when the step ends while it is written; the store goes once it stopped', async () => {
    const disk = backend(true);
    for (let i = 0; i < 40_000; i++) put(disk, i, i);
    const { bytes } = disk.snapshotFor(1, undefined, true);
    disk.close(true);
    const err: unknown = await Promise.resolve(bytes).catch((e: unknown) => e);
    expect(isTributaryError(err) && err.code).toBe('TRIB_STATE_LOCAL_STORE');
    expect(String((err as Error).message)).toMatch(/is closed/);
  });
});
