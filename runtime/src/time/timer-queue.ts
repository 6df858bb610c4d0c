// The firing order of a TimerService's timers: (timestamp, key group, key, namespace).
//
// Timers of a windowed job share few timestamps (every key's window ends at the same slide
// boundaries), so instead of one binary heap over all timers — every pop a log n walk over
// scattered objects, 20–24 % of a sliding-window job's CPU — timers are kept in one bucket per
// timestamp and a small heap orders the distinct timestamps. A bucket is sorted once, when its
// timestamp fires. Timers registered while a bucket fires, at or before its timestamp, are
// inserted into what remains of it in order, so the sequence is exactly the heap's: every
// due timer fires in (timestamp, key group, key, namespace) order, new ones included.
//
// Deletion is lazy (the caller marks the timer deleted; a bucket with no live timer left is
// dropped at once, its timestamp skipped when it surfaces).
import type { Timer } from './timer.ts';
import { compareTimers, sortSameTime } from './timer-sort.ts';

export type { Timer } from './timer.ts';

interface Bucket<T extends Timer> {
  timers: T[];
  live: number;
}

/** Orders timers of type `T` (any object with a timer's fields: a window is its own timer). */
export class TimerQueue<T extends Timer = Timer> {
  private readonly buckets = new Map<number, Bucket<T>>();
  /** Min-heap of timestamps with a bucket (or whose bucket was dropped: skipped when on top). */
  private readonly times: number[] = [];
  /** The bucket being fired, sorted, and the next index in it; its timestamp. */
  private firing: T[] | undefined;
  private cursor = 0;
  private firingTs = 0;

  add(t: T): void {
    if (this.firing && t.ts <= this.firingTs) {
      insertSorted(this.firing, this.cursor, t);
      return;
    }
    const b = this.buckets.get(t.ts);
    if (b) {
      b.timers.push(t);
      b.live++;
      return;
    }
    this.buckets.set(t.ts, { timers: [t], live: 1 });
    heapPush(this.times, t.ts);
  }

  /** `t` (already marked deleted by the caller) no longer counts. */
  removed(t: T): void {
    if (this.firing && t.ts <= this.firingTs) return; // skipped when its turn comes
    const b = this.buckets.get(t.ts);
    if (b && --b.live === 0) this.buckets.delete(t.ts);
  }

  /** The earliest live timer's timestamp. */
  nextTimestamp(): number | undefined {
    const f = this.firing;
    if (f) {
      for (let i = this.cursor; i < f.length; i++) if (!(f[i] as Timer).deleted) return (f[i] as Timer).ts;
    }
    const times = this.times;
    while (times.length > 0 && !this.buckets.has(times[0] as number)) heapPop(times);
    return times[0];
  }

  /**
   * Hands `fire` each live timer with ts ≤ time, in order, including ones added while firing.
   * `fire` must take the timer out of its caller's index before anything can delete it again.
   */
  drain(time: number, fire: (t: T) => void): void {
    for (;;) {
      let f = this.firing;
      if (!f) {
        const ts = this.nextTimestamp();
        if (ts === undefined || ts > time) return;
        heapPop(this.times);
        f = (this.buckets.get(ts) as Bucket<T>).timers;
        this.buckets.delete(ts);
        sortSameTime(f);
        this.firing = f;
        this.cursor = 0;
        this.firingTs = ts;
      }
      while (this.cursor < f.length) {
        const t = f[this.cursor] as T;
        if (t.ts > time) return; // a bucket never holds later timers; kept for a partial resume
        this.cursor++;
        if (!t.deleted) fire(t);
      }
      this.firing = undefined;
    }
  }

  clear(): void {
    this.buckets.clear();
    this.times.length = 0;
    this.firing = undefined;
    this.cursor = 0;
  }
}

/** Inserts `t` into the sorted `list[from..]` at its place (after equal ones). */
function insertSorted<T extends Timer>(list: T[], from: number, t: T): void {
  let lo = from;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareTimers(list[mid] as Timer, t) <= 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, t);
}

function heapPush(h: number[], v: number): void {
  h.push(v);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if ((h[p] as number) <= v) break;
    h[i] = h[p] as number;
    i = p;
  }
  h[i] = v;
}

function heapPop(h: number[]): void {
  const last = h.pop() as number;
  const n = h.length;
  if (n === 0) return;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const c = r < n && (h[r] as number) < (h[l] as number) ? r : l;
    if ((h[c] as number) >= last) break;
    h[i] = h[c] as number;
    i = c;
  }
  h[i] = last;
}
