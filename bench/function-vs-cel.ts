// TypeScript functions against CEL, same logic, same engine: datagen → filter → map → sink at
// parallelism 1, once as `filter(r => r.price > 10).map(r => ({...}))` (function steps) and once
// as `filter('price > 10.0').map({...})` (CEL steps). Records/s per core = records / process
// CPU seconds of the measured run; the best of BENCH_ROUNDS rounds counts.
import { StreamEnvironment, datagen } from '../runtime/src/api.ts';
import type { SinkWriter } from '../runtime/src/connectors/api.ts';
import type { DatagenSourceSpec } from '../runtime/src/graph/spec.ts';
import type { Batch } from '../runtime/src/core/batch.ts';

interface Click {
  user: string;
  country: string;
  price: number;
  ts: number;
}

const source = (count: number): DatagenSourceSpec => ({
  generator: 'schema',
  seed: 1,
  count,
  startTime: 1_700_000_000_000,
  eventRate: 100_000,
  fields: {
    user: { type: 'string', prefix: 'user-', cardinality: 10_000 },
    country: { type: 'string', values: ['de', 'fr', 'us', 'jp'] },
    price: { type: 'double', min: 0, max: 100 },
    ts: { type: 'timestamp' },
  },
});

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

export interface ChainMeasurement {
  name: string;
  perCore: number;
  cpuMs: number;
  outputs: number;
}

async function run(name: string, count: number, functions: boolean): Promise<ChainMeasurement> {
  const env = new StreamEnvironment();
  const clicks = env.fromSource(datagen<Click>(source(count)));
  const out = functions
    ? clicks.filter((r) => r.price > 10).map((r) => ({ user: r.user, country: r.country, cents: r.price * 100 }))
    : clicks.filter('price > 10.0').map({ user: 'user', country: 'country', cents: 'price * 100.0' });
  out.print('out');
  const sink = new CountingSink();
  const c0 = process.cpuUsage();
  await env.execute({ sinkWriter: () => sink });
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000;
  return { name, perCore: count / (cpuMs / 1000), cpuMs, outputs: sink.count };
}

export async function functionVsCel(count: number, rounds: number): Promise<[ChainMeasurement, ChainMeasurement]> {
  await run('warm-up', 100_000, true);
  await run('warm-up', 100_000, false);
  const best = (ms: ChainMeasurement[]): ChainMeasurement => ms.reduce((a, b) => (b.perCore > a.perCore ? b : a));
  const fn: ChainMeasurement[] = [];
  const cel: ChainMeasurement[] = [];
  for (let r = 0; r < rounds; r++) {
    fn.push(await run('TypeScript functions', count, true));
    cel.push(await run('CEL', count, false));
  }
  return [best(fn), best(cel)];
}
