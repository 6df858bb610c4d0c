// Sorting one timestamp's timers into firing order (key group, key, namespace).
//
// A windowed job sorts every bucket of timers when its timestamp fires: tens of thousands of
// timers per slide, a fifth of a sliding-window job's CPU with Array.prototype.sort, most of it
// calling the comparator (~28 ns a call). This quicksort compares inline (`before` is small and
// monomorphic, so the JIT inlines it): 0.57–0.71× the built-in sort's CPU on 100–17,000 timers
// (performance.md, "Timer buckets"). It is not stable, which changes nothing: live timers of
// one bucket never compare equal (a key holds at most one timer per namespace and timestamp);
// only a deleted timer can tie with a live one, and deleted timers are skipped when fired.
// Depth is bounded: past 2·log2(n) levels a range falls back to the built-in sort, so no input
// order makes it quadratic. A large bucket is first split by key group in one counting pass
// (key groups are small integers): the quicksort then sorts each group's run by key alone,
// about log2(groups) fewer levels of comparisons, each of which reads two keys' strings.
import type { Timer } from './timer.ts';

/** Ranges this short are sorted by insertion (fewer moves than partitioning them). */
const SMALL = 16;

/** Whether `a` fires before `b` among timers of one timestamp. */
function before(a: Timer, b: Timer): boolean {
  if (a.kg !== b.kg) return a.kg < b.kg;
  if (a.key !== b.key) return a.key < b.key;
  const x = a.ns;
  const y = b.ns;
  if (typeof x === 'number' && typeof y === 'number') return x < y;
  return String(x) < String(y);
}

/** The same order as a comparator, for the built-in sort's fallback and for tests. */
export function compareSameTime(a: Timer, b: Timer): number {
  return before(a, b) ? -1 : before(b, a) ? 1 : 0;
}

/** The firing order of any two timers: timestamp first. */
export function compareTimers(a: Timer, b: Timer): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  return compareSameTime(a, b);
}

/** Buckets at least this large are split by key group before the quicksort. */
const BY_GROUP = 256;

/** Sorts timers of one timestamp in place into firing order. */
export function sortSameTime(list: Timer[], depthLimit = 2 * Math.ceil(Math.log2(list.length + 1))): void {
  if (list.length < BY_GROUP) {
    sortRange(list, 0, list.length, depthLimit);
    return;
  }
  let groups = 0;
  for (let i = 0; i < list.length; i++) groups = Math.max(groups, (list[i] as Timer).kg + 1);
  // Run starts by key group (a counting sort); the scatter keeps the bucket's order within a group.
  const at = new Int32Array(groups + 1);
  for (let i = 0; i < list.length; i++) {
    const g = (list[i] as Timer).kg + 1;
    at[g] = (at[g] as number) + 1;
  }
  for (let g = 1; g <= groups; g++) at[g] = (at[g] as number) + (at[g - 1] as number);
  const copy = list.slice();
  const next = at.slice(0, groups);
  for (let i = 0; i < copy.length; i++) {
    const t = copy[i] as Timer;
    const j = next[t.kg] as number;
    next[t.kg] = j + 1;
    list[j] = t;
  }
  for (let g = 0; g < groups; g++) {
    const lo = at[g] as number;
    const hi = at[g + 1] as number;
    if (hi - lo > 1) sortRange(list, lo, hi, Math.min(depthLimit, 2 * Math.ceil(Math.log2(hi - lo + 1))));
  }
}

function sortRange(l: Timer[], lo: number, hi: number, depth: number): void {
  while (hi - lo > SMALL) {
    if (depth-- <= 0) {
      const part = l.slice(lo, hi).sort(compareSameTime);
      for (let i = 0; i < part.length; i++) l[lo + i] = part[i] as Timer;
      return;
    }
    // Median of three: l[lo] ≤ l[mid] ≤ l[hi − 1] afterwards, so both scans below stop
    // inside the range without bounds checks.
    const mid = (lo + hi) >>> 1;
    let a = l[lo] as Timer;
    let b = l[mid] as Timer;
    let c = l[hi - 1] as Timer;
    if (before(b, a)) [a, b] = [b, a];
    if (before(c, b)) {
      [b, c] = [c, b];
      if (before(b, a)) [a, b] = [b, a];
    }
    l[lo] = a;
    l[mid] = b;
    l[hi - 1] = c;
    const pivot = b;
    // Hoare partition: scans stop on elements equal to the pivot, so runs of equal
    // elements split evenly instead of degrading.
    let i = lo;
    let j = hi - 1;
    for (;;) {
      do i++;
      while (before(l[i] as Timer, pivot));
      do j--;
      while (before(pivot, l[j] as Timer));
      if (i >= j) break;
      const t = l[i] as Timer;
      l[i] = l[j] as Timer;
      l[j] = t;
    }
    // Recurse into the smaller side, loop on the larger: the stack stays O(log n).
    const cut = j + 1;
    if (cut - lo < hi - cut) {
      sortRange(l, lo, cut, depth);
      lo = cut;
    } else {
      sortRange(l, cut, hi, depth);
      hi = cut;
    }
  }
  for (let i = lo + 1; i < hi; i++) {
    const t = l[i] as Timer;
    let k = i - 1;
    while (k >= lo && before(t, l[k] as Timer)) {
      l[k + 1] = l[k] as Timer;
      k--;
    }
    l[k + 1] = t;
  }
}
