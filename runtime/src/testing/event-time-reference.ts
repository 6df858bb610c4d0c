// TEST-ONLY: event-time answers computed straight from the input, for tests that compare a
// job's late output, window results and dedupe against them (at any parallelism and batch size).
import { sortedJson, type Emitted } from './harness.ts';

export interface Ev {
  id: number;
  k: string;
  ts: number;
}

/** A seeded linear congruential generator in [0, 1): the same sequence on every run. */
export function seededRandom(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

/**
 * Flink's semantics with a watermark after every record (max timestamp so far − bound − 1), over
 * the input in order: tumbling windows of `size` counted per key `k`, late records listed.
 */
export function windowReference(
  evs: readonly Ev[],
  o: { size: number; lateness: number; bound: number },
): { late: string[]; windows: string[] } {
  let max = Number.NEGATIVE_INFINITY;
  const late: Record<string, unknown>[] = [];
  const counts = new Map<string, { k: string; window_start: number; window_end: number; n: number }>();
  for (const e of evs) {
    const start = e.ts - (e.ts % o.size);
    if (start + o.size - 1 + o.lateness <= max - o.bound - 1) late.push({ ...e });
    else {
      const id = `${e.k}/${start}`;
      const w = counts.get(id) ?? { k: e.k, window_start: start, window_end: start + o.size, n: 0 };
      w.n++;
      counts.set(id, w);
    }
    max = Math.max(max, e.ts);
  }
  return { late: sortedJson(late), windows: sortedJson([...counts.values()]) };
}

/** Per key in event-time order (ties by canonical JSON): the earliest passes, dropping those within `within` of it. */
export function dedupeReference(evs: readonly Ev[], within: number): string[] {
  const byKey = new Map<string, Ev[]>();
  for (const e of evs) byKey.set(e.k, [...(byKey.get(e.k) ?? []), e]);
  const out: Ev[] = [];
  for (const list of byKey.values()) {
    list.sort((a, b) => a.ts - b.ts || JSON.stringify(a).localeCompare(JSON.stringify(b)));
    let until = Number.NEGATIVE_INFINITY;
    for (const e of list) {
      if (e.ts < until) continue;
      out.push(e);
      until = e.ts + within;
    }
  }
  return sortedJson(out as unknown as Record<string, unknown>[]);
}

/** The final result per key field `key` and window (a late firing supersedes the earlier one). */
export function finalWindows(out: readonly Emitted[], key = 'k'): string[] {
  const last = new Map<string, Record<string, unknown>>();
  for (const { rec } of out) last.set(`${String(rec[key])}/${String(rec['window_start'])}`, rec);
  return sortedJson([...last.values()]);
}
