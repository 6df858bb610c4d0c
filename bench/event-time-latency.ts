// Event-time latency: from a window's end in event time to its result reaching the sink, for a
// rate-limited datagen source whose event time follows the wall clock (eventRate = rate), at
// parallelism 1 and 2. A tumbling window [start, end) can fire no sooner than the source has
// seen event time end + maxOutOfOrderness (watermark = newest − bound − 1 ms reaches end − 1),
// so the bound is the floor — the peer each figure is set against; the rest is the engine's
// (polls, exchanges, watermark propagation, firing).
//
// Event time at the source trails the wall clock by a constant: the datagen's event time starts
// at the job's start (construction) and its rate clock at the reader's open. The bench
// measures that offset while the job runs (wall clock − newest event time the source has seen,
// the smallest of samples taken between slot steps) and subtracts it.
import type { SinkWriter } from '../runtime/src/connectors/api.ts';
import { validateGraph } from '../runtime/src/connectors/validate-graph.ts';
import { JobExecutor } from '../runtime/src/job/job-executor.ts';
import type { GraphSpec } from '../runtime/src/graph/spec.ts';
import type { Batch } from '../runtime/src/core/batch.ts';

const BOUND_MS = 100;
const WINDOW_MS = 500;
const KEYS = 20;

function graph(rate: number): GraphSpec {
  return {
    sources: [
      {
        name: 'gen',
        datagen: {
          generator: 'schema',
          seed: 5,
          rate,
          eventRate: rate,
          fields: { k: { type: 'string', prefix: 'k', cardinality: KEYS }, ts: { type: 'timestamp' } },
        },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: `${BOUND_MS}ms` },
      },
    ],
    steps: [
      { name: 'by-k', from: 'gen', keyBy: 'k' },
      { name: 'w', from: 'by-k', window: { tumbling: { size: `${WINDOW_MS}ms` } } },
      { name: 'n', from: 'w', aggregate: { n: 'count()' } },
    ],
    sinks: [{ name: 'out', from: 'n', console: {} }],
  };
}

/** Wall-clock ms at which each window result arrived, minus its window's end. */
class LatencySink implements SinkWriter {
  backpressured = false;
  private readonly samples: number[];
  constructor(samples: number[]) {
    this.samples = samples;
  }
  open(): Promise<void> {
    return Promise.resolve();
  }
  write(b: Batch): void {
    const now = wallClock();
    for (let i = 0; i < b.n; i++) this.samples.push(now - Number((b.recs[i] as { window_end: number }).window_end));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export interface LatencyMeasurement {
  parallelism: number;
  results: number;
  /** Event time behind the wall clock at the source (subtracted from every sample). */
  offsetMs: number;
  p50: number;
  p99: number;
  boundMs: number;
}

/** Epoch ms with sub-millisecond resolution. */
function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

export async function eventTimeLatency(
  parallelism: number,
  seconds: number,
  rate: number,
): Promise<LatencyMeasurement> {
  const raw: number[] = [];
  const job = new JobExecutor(validateGraph(graph(rate)), {
    parallelism,
    sinkWriter: () => new LatencySink(raw),
  });
  let offset = Number.POSITIVE_INFINITY;
  const sample = setInterval(() => {
    const st = job.status();
    if (st.watermarkLagMs === undefined) return;
    offset = Math.min(offset, wallClock() - (st.watermark + st.watermarkLagMs));
  }, 20);
  const done = job.run();
  // The first second's windows include the start (opening, JIT): skip them.
  await new Promise((r) => setTimeout(r, 1000));
  const skip = raw.length;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(sample);
  job.stop();
  await done;
  const lat = raw
    .slice(skip)
    .map((x) => x - offset)
    .sort((a, b) => a - b);
  return {
    parallelism,
    results: lat.length,
    offsetMs: offset,
    p50: quantile(lat, 0.5),
    p99: quantile(lat, 0.99),
    boundMs: BOUND_MS,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seconds = Number(process.env['BENCH_EVENT_TIME_SECONDS'] ?? 10);
  for (const p of [1, 2]) {
    const m = await eventTimeLatency(p, seconds, 10_000);
    process.stdout.write(`${JSON.stringify(m)}\n`);
  }
}
