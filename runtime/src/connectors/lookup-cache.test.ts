import { describe, expect, it } from 'vitest';
import { LookupCache } from './lookup-cache.ts';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('LookupCache', () => {
  it('returns what was stored, null for a cached miss, undefined for a key never stored', () => {
    const c = new LookupCache<{ v: number }>({ maxEntries: 10, ttlMs: 1000 });
    c.set('a', { v: 1 });
    c.set('gone', null);
    expect(c.get('a')).toEqual({ v: 1 });
    expect(c.get('gone')).toBeNull();
    expect(c.get('b')).toBeUndefined();
  });

  it('forgets an entry (row or miss) once its ttl has passed, and counts it fresh when stored again', () => {
    const t = clock();
    const c = new LookupCache<number>({ maxEntries: 10, ttlMs: 100, now: t.now });
    c.set('row', 1);
    c.set('miss', null);
    t.advance(99);
    expect(c.get('row')).toBe(1);
    expect(c.get('miss')).toBeNull();
    t.advance(1);
    expect(c.get('row')).toBeUndefined();
    expect(c.get('miss')).toBeUndefined();
    expect(c.size).toBe(0);
    c.set('row', 2);
    t.advance(99);
    expect(c.get('row')).toBe(2);
  });

  it('holds at most maxEntries, evicting the least recently used (a read counts as a use)', () => {
    const c = new LookupCache<number>({ maxEntries: 3, ttlMs: 60_000 });
    c.set('a', 1);
    c.set('b', 2);
    c.set('c', 3);
    expect(c.get('a')).toBe(1); // a is now the most recently used: b goes first
    c.set('d', 4);
    expect(c.size).toBe(3);
    expect(c.get('b')).toBeUndefined();
    expect([c.get('a'), c.get('c'), c.get('d')]).toEqual([1, 3, 4]);
    for (let i = 0; i < 100; i++) c.set(`k${i}`, i);
    expect(c.size).toBe(3);
    expect(c.evictions).toBe(101); // b, then a, c, d and k0..k96
    expect([c.get('k97'), c.get('k98'), c.get('k99')]).toEqual([97, 98, 99]);
  });

  it('storing a key again replaces its value and its expiry', () => {
    const t = clock();
    const c = new LookupCache<number>({ maxEntries: 2, ttlMs: 100, now: t.now });
    c.set('a', 1);
    t.advance(60);
    c.set('a', null);
    t.advance(60);
    expect(c.get('a')).toBeNull();
    expect(c.size).toBe(1);
  });

  it('refuses a bound below one entry and a ttl that is not positive', () => {
    expect(() => new LookupCache({ maxEntries: 0, ttlMs: 1 })).toThrow(/maxEntries/);
    expect(() => new LookupCache({ maxEntries: 1, ttlMs: 0 })).toThrow(/ttl/);
  });
});
