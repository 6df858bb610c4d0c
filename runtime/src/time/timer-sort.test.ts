// The bucket sort against the firing order written out independently here: key group, then
// key by UTF-16 code units, then namespace (numbers by value, otherwise as strings) — on
// random buckets and on the input orders that break naive quicksorts.
import { describe, expect, it } from 'vitest';
import { RecordRandom } from '../connectors/datagen/random.ts';
import type { Timer } from './timer.ts';
import { compareSameTime, sortSameTime } from './timer-sort.ts';

function reference(a: Timer, b: Timer): number {
  if (a.kg !== b.kg) return a.kg - b.kg;
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  if (typeof a.ns === 'number' && typeof b.ns === 'number') return a.ns - b.ns;
  const x = String(a.ns);
  const y = String(b.ns);
  return x === y ? 0 : x < y ? -1 : 1;
}

function seeded(seed: number): RecordRandom {
  const r = new RecordRandom();
  r.reset(seed, 0);
  return r;
}

const timer = (kg: number, key: string, ns: number | string): Timer => ({ ts: 1, kg, key, ns, deleted: false });

/** `n` timers with distinct (key group, key, namespace), shuffled. */
function distinct(rnd: RecordRandom, n: number, groups: number, stringNs = false): Timer[] {
  const seen = new Set<string>();
  const out: Timer[] = [];
  while (out.length < n) {
    const kg = rnd.int(0, groups - 1);
    const key = `[${rnd.int(0, 4 * n)}]`;
    const ns = stringNs && rnd.int(0, 1) === 0 ? `s${rnd.int(0, 9)}` : rnd.int(0, 4) * 2000;
    const id = `${kg}|${key}|${typeof ns}:${ns}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(timer(kg, key, ns));
  }
  return out;
}

function expectSortedLike(input: Timer[], depthLimit?: number): void {
  const expected = [...input].sort(reference);
  const actual = [...input];
  sortSameTime(actual, depthLimit);
  expect(actual).toEqual(expected);
  // The same objects, each once (a sort that duplicated or lost one could still look ordered).
  expect(new Set(actual).size).toBe(input.length);
}

describe('sortSameTime', () => {
  it('sorts random buckets of every size into firing order', () => {
    const rnd = seeded(11);
    for (const n of [0, 1, 2, 3, 15, 16, 17, 33, 100, 1000, 20_000]) {
      expectSortedLike(distinct(rnd, n, 128));
      expectSortedLike(distinct(rnd, n, 1));
      expectSortedLike(distinct(rnd, n, 4, true));
    }
  });

  it('handles sorted, reversed, organ-pipe and one-key inputs', () => {
    const rnd = seeded(12);
    const base = distinct(rnd, 5000, 64).sort(reference);
    const half = base.length >> 1;
    const oneKey = Array.from({ length: 3000 }, (_, i) => timer(7, '["k"]', (i * 7919) % 3000));
    for (const input of [
      base,
      [...base].reverse(),
      [...base.slice(0, half), ...base.slice(half).reverse()],
      [...base.slice(half), ...base.slice(0, half)],
      oneKey,
    ])
      expectSortedLike(input);
  });

  it('orders equal timers (a deleted one beside a live one) next to each other', () => {
    const rnd = seeded(13);
    const input = Array.from({ length: 4000 }, () => timer(rnd.int(0, 3), `[${rnd.int(0, 9)}]`, rnd.int(0, 2)));
    const actual = [...input];
    sortSameTime(actual);
    for (let i = 1; i < actual.length; i++)
      expect(reference(actual[i - 1] as Timer, actual[i] as Timer)).toBeLessThanOrEqual(0);
    expect(new Set(actual).size).toBe(input.length);
  });

  it('falls back to the built-in sort past its depth limit and still sorts', () => {
    const rnd = seeded(14);
    const input = distinct(rnd, 5000, 128, true);
    expectSortedLike(input, 0);
    expectSortedLike(input, 1);
    expectSortedLike(input, 3);
  });

  it('compareSameTime is the same order as a comparator', () => {
    const rnd = seeded(15);
    const ts = distinct(rnd, 300, 8, true);
    for (let i = 0; i + 1 < ts.length; i++) {
      const a = ts[i] as Timer;
      const b = ts[i + 1] as Timer;
      expect(Math.sign(compareSameTime(a, b))).toBe(Math.sign(reference(a, b)));
      expect(compareSameTime(a, a)).toBe(0);
    }
  });
});
