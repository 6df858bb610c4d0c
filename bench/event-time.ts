// Cost of event time on Nexmark-like queries at parallelism 1: q5 (hot items: bids per
// auction in sliding 10 s windows every 2 s) and q7 (highest bid per 10 s tumbling window),
// over the seeded nexmark datagen. Records/s per core = records / process CPU seconds.
//
// Each query runs with watermarks published inside a poll (per record: before a record the
// watermark makes late, and every 1 s of event time; what jobs run) and, as the peer in the
// same run, with the watermark published once per poll after its records (the behaviour before
// watermarks inside a batch; source-task.ts `watermarksForBench`, a switch for this benchmark
// only). Dense (10,000 events per second of event time: a 1024-record poll spans 0.1 s, so
// only the per-record check runs) and sparse (200/s: a poll spans 5 s, cut every 1 s).
// `npm run bench` prints it after the runtime throughput; `BENCH_ONLY=event-time npm run bench`
// prints only this and the event-time latency (event-time-latency.ts).
import type { SinkWriter } from '../runtime/src/connectors/api.ts';
import { validateGraph } from '../runtime/src/connectors/validate-graph.ts';
import { JobExecutor } from '../runtime/src/job/job-executor.ts';
import { watermarksForBench } from '../runtime/src/exec/source-task.ts';
import type { GraphSpec, StepSpec } from '../runtime/src/graph/spec.ts';
import type { Batch } from '../runtime/src/core/batch.ts';

const START = 1_700_000_000_000;
/** Event-time events per second: dense (a poll spans 0.1 s) and sparse (a poll spans 5 s). */
export const EVENT_RATES = { dense: 10_000, sparse: 200 } as const;

const QUERIES: Record<string, StepSpec[]> = {
  q5: [
    { name: 'bids', from: 'events', filter: 'event_type == "bid"' },
    { name: 'by-auction', from: 'bids', keyBy: 'auction' },
    { name: 'hop', from: 'by-auction', window: { sliding: { size: '10s', slide: '2s' } } },
    { name: 'counts', from: 'hop', aggregate: { bids: 'count()' } },
  ],
  q7: [
    { name: 'bids', from: 'events', filter: 'event_type == "bid"' },
    { name: 'one', from: 'bids', map: { k: '0', price: 'price', auction: 'auction' } },
    { name: 'by-all', from: 'one', keyBy: 'k' },
    { name: 'tumble', from: 'by-all', window: { tumbling: { size: '10s' } } },
    { name: 'counts', from: 'tumble', aggregate: { top: 'max(price)', n: 'count()' } },
  ],
};

function graph(query: string, count: number, eventRate: number): GraphSpec {
  return {
    sources: [
      {
        name: 'events',
        datagen: { generator: 'nexmark', seed: 3, count, startTime: START, eventRate },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' },
      },
    ],
    steps: QUERIES[query] as StepSpec[],
    sinks: [{ name: 'out', from: 'counts', console: {} }],
  };
}

class CountingSink implements SinkWriter {
  count = 0;
  backpressured = false;
  open(): Promise<void> {
    return Promise.resolve();
  }
  write(b: Batch): void {
    this.count += b.n;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export type Watermarks = 'per-record' | 'per-batch';

export interface EventTimeMeasurement {
  query: string;
  watermarks: Watermarks;
  perCore: number;
  outputs: number;
}

export async function runQuery(
  query: string,
  count: number,
  eventRate: number,
  watermarks: Watermarks = 'per-record',
): Promise<EventTimeMeasurement> {
  const sink = new CountingSink();
  const job = new JobExecutor(validateGraph(graph(query, count, eventRate)), {
    parallelism: 1,
    sinkWriter: () => sink,
  });
  watermarksForBench.perBatch = watermarks === 'per-batch';
  try {
    const c0 = process.cpuUsage();
    await job.run();
    const c = process.cpuUsage(c0);
    return { query, watermarks, perCore: count / ((c.user + c.system) / 1e6), outputs: sink.count };
  } finally {
    watermarksForBench.perBatch = false;
  }
}

export interface WatermarkCost {
  query: string;
  density: keyof typeof EVENT_RATES;
  perRecord: EventTimeMeasurement;
  perBatch: EventTimeMeasurement;
}

/** Per query and density: best of `rounds` with each kind of watermarks, rounds interleaved, after a warm-up. */
export async function eventTimeBenchmarks(count: number, rounds: number): Promise<WatermarkCost[]> {
  const out: WatermarkCost[] = [];
  for (const density of Object.keys(EVENT_RATES) as (keyof typeof EVENT_RATES)[]) {
    const rate = EVENT_RATES[density];
    for (const q of Object.keys(QUERIES)) {
      await runQuery(q, Math.min(count, 200_000), rate, 'per-record');
      await runQuery(q, Math.min(count, 200_000), rate, 'per-batch');
      const best: Partial<Record<Watermarks, EventTimeMeasurement>> = {};
      for (let r = 0; r < rounds; r++) {
        for (const w of ['per-record', 'per-batch'] as const) {
          const m = await runQuery(q, count, rate, w);
          if (!best[w] || m.perCore > best[w].perCore) best[w] = m;
        }
      }
      out.push({
        query: q,
        density,
        perRecord: best['per-record'] as EventTimeMeasurement,
        perBatch: best['per-batch'] as EventTimeMeasurement,
      });
    }
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const count = Number(process.env['BENCH_RECORDS'] ?? 1_000_000);
  for (const c of await eventTimeBenchmarks(count, Number(process.env['BENCH_ROUNDS'] ?? 3)))
    process.stdout.write(
      `${c.query} ${c.density}: per record ${Math.round(c.perRecord.perCore)} rec/s per core, per batch ${Math.round(c.perBatch.perCore)}, ratio ${(c.perRecord.perCore / c.perBatch.perCore).toFixed(2)}\n`,
    );
}
