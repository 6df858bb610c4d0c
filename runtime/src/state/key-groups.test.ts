import { describe, expect, it } from 'vitest';
import {
  canonicalKey,
  defaultMaxParallelism,
  keyGroupOf,
  keyGroupRangeForSlot,
  slotForKeyGroup,
} from './key-groups.ts';
import { murmur3Bytes, murmur3String } from './murmur3.ts';

describe('murmur3_32', () => {
  it('matches the reference vectors (seed 0)', () => {
    expect(murmur3String('')).toBe(0);
    expect(murmur3String('hello')).toBe(0x248bfa47);
    expect(murmur3String('The quick brown fox jumps over the lazy dog')).toBe(0x2e4ff723);
    expect(murmur3Bytes(new Uint8Array([0x21, 0x43, 0x65, 0x87]))).toBe(0xf55b516b);
    expect(murmur3String('', 1)).toBe(0x514e28b7);
  });

  it('hashes a string exactly like its UTF-8 bytes', () => {
    for (const s of ['a', 'ab', 'abc', 'abcd', 'München', '日本語のキー', '😀 emoji', '["de",1]', 'x'.repeat(1001)]) {
      expect(murmur3String(s)).toBe(murmur3Bytes(new TextEncoder().encode(s)));
    }
  });
});

describe('key groups', () => {
  it('splits 128 key groups over 3 slots as Flink does', () => {
    expect([0, 1, 2].map((s) => keyGroupRangeForSlot(s, 3, 128))).toEqual([
      { start: 0, end: 42 },
      { start: 43, end: 85 },
      { start: 86, end: 127 },
    ]);
  });

  it('assigns every key group to the slot whose range contains it', () => {
    for (const [p, maxP] of [
      [1, 128],
      [2, 128],
      [3, 128],
      [5, 7],
      [7, 7],
      [4, 1000],
    ] as const) {
      for (let kg = 0; kg < maxP; kg++) {
        const slot = slotForKeyGroup(kg, p, maxP);
        const r = keyGroupRangeForSlot(slot, p, maxP);
        expect(kg >= r.start && kg <= r.end).toBe(true);
      }
    }
  });

  it('uses a stable canonical key', () => {
    expect(canonicalKey(['de'])).toBe('["de"]');
    expect(canonicalKey([1, 'x'])).toBe('[1,"x"]');
    expect(canonicalKey([{ b: 1, a: 2 }])).toBe('[{"a":2,"b":1}]');
    expect(keyGroupOf(canonicalKey(['de']), 128)).toBe(murmur3String('["de"]') % 128);
  });

  it('computes the default max parallelism like Flink', () => {
    expect(defaultMaxParallelism(1)).toBe(128);
    expect(defaultMaxParallelism(100)).toBe(256);
    expect(defaultMaxParallelism(30000)).toBe(32768);
  });
});
