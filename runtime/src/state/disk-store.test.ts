import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isTributaryError } from '../errors.ts';
import { DiskStore } from './disk-store.ts';
import type { KeyTable, ValueCodec } from './key-table.ts';
import { stateCodec } from './state-codec.ts';
import { JSON_SERIALIZER } from './keyed-state.ts';

const codec = <V>(): ValueCodec<V> =>
  stateCodec({ name: 's', serializer: JSON_SERIALIZER }) as unknown as ValueCodec<V>;
const open: DiskStore[] = [];
const store = (cache = 4): DiskStore => {
  const s = new DiskStore(join(tmpdir(), 'tributary-test-state'), cache);
  open.push(s);
  return s;
};
afterEach(() => {
  for (const s of open.splice(0)) s.close(true);
});
const all = <V>(t: KeyTable<V>): Record<string, V> => Object.fromEntries([...t.entries()]);

describe('disk store tables', () => {
  it('keeps values, counts keys and removes them, across write-back and eviction', () => {
    const s = store();
    const t = s.table<number>('count', 3, codec());
    for (let i = 0; i < 20; i++) t.set(`k${i}`, i);
    expect(t.size).toBe(20);
    s.maintain(); // over budget: written back, then evicted to 3 of 4
    expect(s.cached).toBeLessThanOrEqual(3);
    expect(t.get('k7')).toBe(7);
    expect(t.delete('k7')).toBe(true);
    expect(t.delete('k7')).toBe(false);
    expect(t.delete('nope')).toBe(false);
    t.set('k8', 80); // overwrite of an evicted key: no new key
    expect(t.size).toBe(19);
    s.maintain();
    expect(t.get('k7')).toBeUndefined();
    expect(t.get('k8')).toBe(80);
    expect(Object.keys(all(t))).toHaveLength(19);
  });

  it('keeps a change made in place once touched, after the entry was evicted and read again', () => {
    const s = store(1);
    const t = s.table<number[]>('lists', 0, codec());
    t.set('a', [1]);
    t.set('b', [2]);
    s.maintain();
    const a = t.get('a') as number[];
    a.push(2);
    t.touch('a');
    for (let i = 0; i < 10; i++) t.set(`x${i}`, [i]);
    s.maintain();
    expect(t.get('a')).toEqual([1, 2]);
  });

  it('never evicts what a caller got since the last safe point', () => {
    const s = store(1);
    const t = s.table<{ n: number }>('objs', 0, codec());
    for (let i = 0; i < 10; i++) t.set(`k${i}`, { n: i });
    const held = t.get('k1') as { n: number };
    for (let i = 10; i < 20; i++) t.set(`k${i}`, { n: i }); // no safe point: nothing evicted
    held.n = 100;
    t.touch('k1');
    expect(t.get('k1')).toBe(held);
    s.maintain();
    expect(t.get('k1')).toEqual({ n: 100 });
  });

  it('iterates every entry once with the current value, also with deletes and evictions between steps', () => {
    const s = store(2);
    const t = s.table<number>('n', 1, codec());
    for (let i = 0; i < 1200; i++) t.set(`k${String(i).padStart(4, '0')}`, i);
    const it = t.entries();
    const seen = new Map<string, number>();
    let steps = 0;
    for (let r = it.next(); r.done !== true; r = it.next()) {
      const [key, v] = r.value;
      expect(seen.has(key)).toBe(false);
      seen.set(key, v);
      if (++steps % 100 === 0) {
        t.delete(`k${String(steps + 50).padStart(4, '0')}`); // ahead of the cursor: never visited
        t.set(`k${String(steps + 60).padStart(4, '0')}`, -1); // ahead: visited with the new value
        s.maintain();
      }
    }
    expect(seen.size).toBe(1200 - 12 + 1); // 1150 was deleted and then set again
    expect(seen.get('k0150')).toBeUndefined();
    expect(seen.get('k0160')).toBe(-1);
    expect(t.size).toBe(1200 - 11);
  });

  it('keeps key groups apart, and drop removes one whole', () => {
    const s = store();
    const a = s.table<number>('n', 1, codec());
    const b = s.table<number>('n', 2, codec());
    const other = s.table<number>('m', 1, codec());
    a.set('k', 1);
    b.set('k', 2);
    other.set('k', 3);
    s.flush();
    a.drop();
    expect(a.size).toBe(0);
    expect(a.get('k')).toBeUndefined();
    expect(all(b)).toEqual({ k: 2 });
    expect(all(other)).toEqual({ k: 3 });
  });

  it('loads restored entries without caching them, and counts them after endLoad', () => {
    const s = store();
    const t = s.table<number>('n', 5, codec());
    for (let i = 0; i < 10_000; i++) t.load(`k${i}`, i);
    t.load('k3', undefined);
    t.load('k4', 44);
    s.endLoad();
    expect(s.cached).toBe(0);
    expect(t.size).toBe(9_999);
    expect(t.get('k4')).toBe(44);
    expect(t.get('k3')).toBeUndefined();
  });

  it('refuses a key longer than the store takes, naming the limit', () => {
    const t = store().table<number>('n', 0, codec());
    let err: unknown;
    try {
      t.set('x'.repeat(3000), 1);
    } catch (e) {
      err = e;
    }
    expect(isTributaryError(err, 'TRIB_STATE_KEY_TOO_LONG')).toBe(true);
    expect((err as Error).message).toContain('1976');
  });

  it('removes its files on close and refuses use afterwards', () => {
    const s = new DiskStore(join(tmpdir(), 'tributary-test-state'));
    const t = s.table<number>('n', 0, codec());
    t.set('a', 1);
    expect(existsSync(s.dir)).toBe(true);
    s.close(true);
    expect(existsSync(s.dir)).toBe(false);
    expect(() => s.flush()).toThrow(/closed/);
  });
});
