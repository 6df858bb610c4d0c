// A source publishes its watermark inside a poll: a record is judged late against the
// watermark as of the records before it on its input, so late output and window results do
// not depend on the batch size. The expected results are computed here, record by record.
import { describe, expect, it } from 'vitest';
import { StreamEnvironment } from '../api.ts';
import { sortedJson, type Emitted } from '../testing/harness.ts';
import { finalWindows, seededRandom, windowReference, type Ev } from '../testing/event-time-reference.ts';

const BOUND = 1000;
const SIZE = 10_000;
const LATENESS = 2000;

/** 3,000 events 10 ms apart, displaced by up to 800 ms, plus 40 events 30 s behind the stream. */
function events(): Ev[] {
  const rnd = seededRandom(42);
  const out: Ev[] = [];
  for (let i = 0; i < 3000; i++) {
    out.push({ id: i, k: `k${i % 5}`, ts: 1_000_000 + i * 10 + Math.floor(rnd() * 800) });
    if (i % 75 === 74 && i > 3000 / 2) out.push({ id: 10_000 + i, k: `k${i % 5}`, ts: 1_000_000 + i * 10 - 30_000 });
  }
  return out;
}

describe('watermarks inside a batch', () => {
  it('judge each record against the watermark of the records before it, at every batch size', async () => {
    const evs = events();
    const ref = windowReference(evs, { size: SIZE, lateness: LATENESS, bound: BOUND });
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
