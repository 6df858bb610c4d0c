// Cost of event time on Nexmark-like queries at parallelism 1: q5 (hot items: bids per
// auction in sliding 10 s windows every 2 s) and q7 (highest bid per 10 s tumbling window),
// over the seeded nexmark datagen. Records/s per core = records / process CPU seconds.
// `npm run bench` prints it after the runtime throughput; run directly
// (`npx node bench/event-time.ts`) to compare two builds of the runtime in one session.
import type { SinkWriter } from '../runtime/src/connectors/api.ts';
import { validateGraph } from '../runtime/src/connectors/validate-graph.ts';
import { JobExecutor } from '../runtime/src/exec/job-executor.ts';
import type { GraphSpec, StepSpec } from '../runtime/src/graph/spec.ts';
import type { Batch } from '../runtime/src/operators/types.ts';

const START = 1_700_000_000_000;
const EVENT_RATE = 10_000; // event-time events per second

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

function graph(query: string, count: number): GraphSpec {
  return {
    sources: [
      {
        name: 'events',
        datagen: { generator: 'nexmark', seed: 3, count, startTime: START, eventRate: EVENT_RATE },
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

export interface EventTimeMeasurement {
  query: string;
  perCore: number;
  outputs: number;
}

export async function runQuery(query: string, count: number): Promise<EventTimeMeasurement> {
  const sink = new CountingSink();
  const job = new JobExecutor(validateGraph(graph(query, count)), { parallelism: 1, sinkWriter: () => sink });
  const c0 = process.cpuUsage();
  await job.run();
  const c = process.cpuUsage(c0);
  return { query, perCore: count / ((c.user + c.system) / 1e6), outputs: sink.count };
}

/** Best of `rounds` per query, after a warm-up. */
export async function eventTimeBenchmarks(count: number, rounds: number): Promise<EventTimeMeasurement[]> {
  const out: EventTimeMeasurement[] = [];
  for (const q of Object.keys(QUERIES)) {
    await runQuery(q, Math.min(count, 200_000));
    let best: EventTimeMeasurement | undefined;
    for (let r = 0; r < rounds; r++) {
      const m = await runQuery(q, count);
      if (!best || m.perCore > best.perCore) best = m;
    }
    out.push(best as EventTimeMeasurement);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const count = Number(process.env['BENCH_RECORDS'] ?? 1_000_000);
  for (const m of await eventTimeBenchmarks(count, Number(process.env['BENCH_ROUNDS'] ?? 3)))
    process.stdout.write(`${m.query} ${Math.round(m.perCore)} rec/s per core, ${m.outputs} window results\n`);
}
