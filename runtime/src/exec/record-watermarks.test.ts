// A source publishes its watermark inside a poll: a record is judged late against the
// watermark as of the records before it on its input, so late output and window results do
// not depend on the batch size. The expected results are computed here, record by record.
import { describe, expect, it } from 'vitest';
import { StreamEnvironment } from '../api.ts';
import { sortedJson, type Emitted } from '../testing/harness.ts';

const BOUND = 1000;
const SIZE = 10_000;
const LATENESS = 2000;

interface Ev {
  id: number;
  k: string;
  ts: number;
}

/** 3,000 events 10 ms apart, displaced by up to 800 ms, plus 40 events 30 s behind the stream. */
function events(): Ev[] {
  let s = 42;
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const out: Ev[] = [];
  for (let i = 0; i < 3000; i++) {
    out.push({ id: i, k: `k${i % 5}`, ts: 1_000_000 + i * 10 + Math.floor(rnd() * 800) });
    if (i % 75 === 74 && i > 3000 / 2) out.push({ id: 10_000 + i, k: `k${i % 5}`, ts: 1_000_000 + i * 10 - 30_000 });
  }
  return out;
}

/** Flink's semantics with a watermark after every record: max timestamp so far − bound − 1. */
function reference(evs: readonly Ev[]): { late: string[]; windows: string[] } {
  let max = Number.NEGATIVE_INFINITY;
  const late: Record<string, unknown>[] = [];
  const counts = new Map<string, { k: string; window_start: number; window_end: number; n: number }>();
  for (const e of evs) {
    const wm = max - BOUND - 1;
    const start = e.ts - (e.ts % SIZE);
    if (start + SIZE - 1 + LATENESS <= wm) late.push({ ...e });
    else {
      const id = `${e.k}/${start}`;
      const w = counts.get(id) ?? { k: e.k, window_start: start, window_end: start + SIZE, n: 0 };
      w.n++;
      counts.set(id, w);
    }
    max = Math.max(max, e.ts);
  }
  return { late: sortedJson(late), windows: sortedJson([...counts.values()]) };
}

/** The final result per window (a late firing supersedes the earlier one). */
function finalWindows(out: readonly Emitted[]): string[] {
  const last = new Map<string, Record<string, unknown>>();
  for (const { rec } of out) last.set(`${String(rec['k'])}/${String(rec['window_start'])}`, rec);
  return sortedJson([...last.values()]);
}

describe('watermarks inside a batch', () => {
  it('judge each record against the watermark of the records before it, at every batch size', async () => {
    const evs = events();
    const ref = reference(evs);
    expect(ref.late.length).toBe(20); // every 30 s-late event: far beyond bound + lateness
    for (const batchSize of [1, 64, 100_000]) {
      const env = new StreamEnvironment();
      const w = env
        .fromCollection(evs as unknown as Record<string, unknown>[], {
          name: 'events',
          timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: `${BOUND}ms` },
        })
        .keyBy('k')
        .window({ tumbling: { size: `${SIZE}ms` }, allowedLateness: `${LATENESS}ms`, lateOutput: 'late' });
      w.aggregate({ n: 'count()' }, 'counts').toConsole('windows');
      w.lateRecords().toConsole('late-out');
      const got = await env.executeAndCollect({ parallelism: 1, batchSize });
      expect(sortedJson((got.get('late-out') as Emitted[]).map((e) => e.rec)), `batch ${batchSize}`).toEqual(ref.late);
      expect(finalWindows(got.get('windows') as Emitted[]), `batch ${batchSize}`).toEqual(ref.windows);
    }
  });
});
