// Throughput of the runtime core: in-memory datagen → filter → map → keyBy → tumbling
// count, parallelism 1, against a hand-written plain-JS loop doing the same work on the
// same generated records (the "ideal" peer: no framework, no CEL, no batches, no key groups).
// Records/s per core = records / process CPU seconds (user + system) of the measured run.
import { RecordRandom } from '../runtime/src/connectors/datagen/random.ts';
import { SchemaGenerator } from '../runtime/src/connectors/datagen/schema-generator.ts';
import type { SinkWriter } from '../runtime/src/connectors/api.ts';
import { JobExecutor } from '../runtime/src/job/job-executor.ts';
import type { DatagenFieldSpec, GraphSpec } from '../runtime/src/graph/spec.ts';
import { validateGraph } from '../runtime/src/connectors/validate-graph.ts';
import type { Batch } from '../runtime/src/core/batch.ts';

const FIELDS: Record<string, DatagenFieldSpec> = {
  user: { type: 'string', prefix: 'user-', cardinality: 10_000 },
  country: { type: 'string', values: ['de', 'fr', 'us', 'jp', 'br', 'in', 'mx', 'ca'] },
  price: { type: 'double', min: 0, max: 100 },
  ts: { type: 'timestamp' },
};
const START = 1_700_000_000_000;
const EVENT_RATE = 100_000; // event-time records per second: 10 s windows hold 1M records

export function graph(count: number): GraphSpec {
  return {
    sources: [
      {
        name: 'gen',
        datagen: { generator: 'schema', seed: 1, count, startTime: START, eventRate: EVENT_RATE, fields: FIELDS },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' },
      },
    ],
    steps: [
      { name: 'paid', from: 'gen', filter: 'price > 10.0' },
      { name: 'slim', from: 'paid', map: { user: 'user', country: 'country', cents: 'price * 100' } },
      { name: 'by-country', from: 'slim', keyBy: 'country' },
      { name: 'w', from: 'by-country', window: { tumbling: { size: '10s' } } },
      { name: 'counts', from: 'w', aggregate: { n: 'count()' } },
    ],
    sinks: [{ name: 'out', from: 'counts', console: {} }],
  };
}

export interface Measurement {
  name: string;
  records: number;
  wallMs: number;
  cpuMs: number;
  perCore: number;
  outputs: number;
}

function measure<T>(fn: () => T): { value: T; wallMs: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, wallMs, cpuMs: (c.user + c.system) / 1000 };
}

async function measureAsync<T>(fn: () => Promise<T>): Promise<{ value: T; wallMs: number; cpuMs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, wallMs, cpuMs: (c.user + c.system) / 1000 };
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

export async function runTributary(count: number, o: { nodeTiming?: boolean } = {}): Promise<Measurement> {
  const g = validateGraph(graph(count));
  const sink = new CountingSink();
  const job = new JobExecutor(g, { parallelism: 1, sinkWriter: () => sink, ...o });
  const m = await measureAsync(() => job.run());
  return {
    name: o.nodeTiming === false ? 'tributary (p=1), nodes untimed' : 'tributary (p=1)',
    records: count,
    wallMs: m.wallMs,
    cpuMs: m.cpuMs,
    perCore: count / (m.cpuMs / 1000),
    outputs: sink.count,
  };
}

/** The same work as a single hand-written loop. */
export function runPlainLoop(count: number): Measurement {
  const gen = new SchemaGenerator(FIELDS);
  const rnd = new RecordRandom();
  const msPerEvent = 1000 / EVENT_RATE;
  const size = 10_000;
  const m = measure(() => {
    const windows = new Map<string, Map<number, number>>();
    let outputs = 0;
    let wm = Number.MIN_SAFE_INTEGER;
    for (let i = 0; i < count; i++) {
      rnd.reset(1, i);
      const rec = gen.generate(i, START + Math.floor(i * msPerEvent), rnd);
      const ts = rec['ts'] as number;
      if ((rec['price'] as number) > 10) {
        const slim = { user: rec['user'], country: rec['country'], cents: (rec['price'] as number) * 100 };
        const key = slim.country as string;
        const start = ts - (ts % size);
        let perKey = windows.get(key);
        if (!perKey) windows.set(key, (perKey = new Map()));
        perKey.set(start, (perKey.get(start) ?? 0) + 1);
      }
      if ((i & 1023) === 1023) {
        wm = ts - 1001;
        for (const perKey of windows.values()) {
          for (const [start, n] of perKey) {
            if (start + size - 1 <= wm) {
              perKey.delete(start);
              if (n > 0) outputs++;
            }
          }
        }
      }
    }
    for (const perKey of windows.values()) outputs += perKey.size;
    return outputs;
  });
  return {
    name: 'plain JS loop (ideal peer)',
    records: count,
    wallMs: m.wallMs,
    cpuMs: m.cpuMs,
    perCore: count / (m.cpuMs / 1000),
    outputs: m.value,
  };
}
