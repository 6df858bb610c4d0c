// Throughput per state backend (`BENCH_ONLY=state-throughput npm run bench`; standalone: node
// bench/state-throughput.ts): the same jobs with keyed state on the heap and in the disk backend
// (`stateBackend: {kind: 'disk'}`, its default cache size), in this process, one after the other,
// parallelism 1, no checkpoints, unpaced datagen, output counted and dropped.
//
// (a) A rolling count over N distinct keys: datagen of N + D records; record i's key is i for the
//     first N (the fill: every key enters the state, so it really holds N keys) and then a key
//     drawn uniformly from [0, N) (the draws: every record reads and updates a key among N). The
//     draws are what is measured; the fill is printed beside them.
// (b) Nexmark q5 (threads.ts's: bids → keyBy auction → sliding 10 s / 2 s count). With the disk
//     backend its windows are keyed state in the store and its timers an lmdb index: the figure is
//     what the disk backend costs a windowed job whose state would fit the heap.
// Records/s are wall clock (2 shared cores: noisy); records per CPU-second are of the whole
// process. A heap that cannot hold the state ends the job with TRIB_STATE_MEMORY_LIMIT
// (exec/heap-limit-watch.ts): printed as such, not a crash.
// Env: BENCH_TPUT_KEYS (N, default 10,000,000), BENCH_TPUT_DRAWS (D, default the smaller of N and 2,000,000),
// BENCH_TPUT_Q5_EVENTS (default 5,000,000), BENCH_TPUT_ORDER=heap-first (default disk first, so a
// heap that runs out does so last), BENCH_TPUT_ONLY=agg|q5.
// Not part of the full `npm run bench`: several minutes at 10M keys, and a few GB of heap.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { validateGraph } from '../runtime/src/connectors/validate-graph.ts';
import { TributaryError } from '../runtime/src/errors.ts';
import type { GraphSpec } from '../runtime/src/graph/spec.ts';
import { createJobExecutor } from '../runtime/src/job/job-executor.ts';
import type { StateBackendKind } from '../runtime/src/state/state-backend-options.ts';
import { CountingSink } from './checkpoint.ts';
import { q5 } from './threads.ts';

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const mb = (b: number): string => (b / 1e6).toFixed(0);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** A stretch of a run: records through the source, wall and CPU time. */
interface Span {
  records: number;
  wallMs: number;
  cpuMs: number;
}

interface Measured {
  backend: StateBackendKind;
  /** The measured stretch: the draws (a), the whole job (b). */
  span?: Span;
  /** (a) only: the fill, every key entering the state. */
  fill?: Span;
  /** Why the job did not finish, when it did not (TRIB_STATE_MEMORY_LIMIT). */
  failed?: string;
  peakHeap: number;
  endRss: number;
}

/** (a): the fill then the draws, keyed by `seq < N ? seq : r` (r uniform in [0, N)). */
function rollingCount(keys: number, draws: number): GraphSpec {
  return {
    sources: [
      {
        name: 'gen',
        datagen: {
          generator: 'schema',
          seed: 1,
          count: keys + draws,
          fields: { seq: { type: 'sequence' }, r: { type: 'int', min: 0, max: keys - 1 } },
        },
      },
    ],
    steps: [
      { name: 'by-id', from: 'gen', keyBy: { expr: `seq < ${keys} ? seq : r`, as: 'id' } },
      { name: 'agg', from: 'by-id', aggregate: { n: 'count()' } },
    ],
    sinks: [{ name: 'out', from: 'agg', console: {} }],
  };
}

const spanOf = (a: { t: number; c: number; n: number }, b: { t: number; c: number; n: number }): Span => ({
  records: b.n - a.n,
  wallMs: b.t - a.t,
  cpuMs: b.c - a.c,
});

/**
 * Runs `graph` to its end on `backend`; `fillAt`: the records after which the measured stretch
 * starts (polled every 100 ms, so it starts within one poll of it, at the count read then).
 */
async function runJob(graph: GraphSpec, backend: StateBackendKind, fillAt = 0): Promise<Measured> {
  const dir = await mkdtemp(join(tmpdir(), 'trib-bench-tput-'));
  const job = await createJobExecutor(validateGraph(graph), {
    parallelism: 1,
    sinkWriter: () => new CountingSink(),
    stateBackend: backend === 'disk' ? { kind: 'disk', dir } : undefined,
  });
  const start = { t: performance.now(), c: cpuMs(), n: 0 };
  let mark = fillAt === 0 ? start : undefined;
  let peakHeap = 0;
  let polls = 0;
  let finished = false;
  const done = job.run().finally(() => (finished = true));
  try {
    while (!finished) {
      await sleep(100);
      peakHeap = Math.max(peakHeap, getHeapStatistics().used_heap_size);
      const n = job.status().recordsIn;
      if (mark === undefined && n >= fillAt) mark = { t: performance.now(), c: cpuMs(), n };
      // A sign of life on long runs (10M keys on disk take minutes), off stdout's tables.
      if (++polls % 300 === 0) process.stderr.write(`  ${backend}: ${fmt.format(n)} records after ${polls / 10} s\n`);
    }
    const result = await done;
    const end = { t: performance.now(), c: cpuMs(), n: result.recordsIn };
    const span = mark ? spanOf(mark, end) : undefined;
    const fill = fillAt > 0 && mark ? spanOf(start, mark) : undefined;
    return { backend, span, fill, peakHeap, endRss: process.memoryUsage().rss };
  } catch (e) {
    if (!(e instanceof TributaryError && e.code === 'TRIB_STATE_MEMORY_LIMIT')) throw e;
    const n = job.status().recordsIn;
    const failed = `TRIB_STATE_MEMORY_LIMIT after ${fmt.format(n)} records: ${e.message}`;
    return { backend, failed, peakHeap, endRss: process.memoryUsage().rss };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const perS = (s: Span): number => s.records / (s.wallMs / 1000);
const perCpuS = (s: Span): number => s.records / (s.cpuMs / 1000);

function line(m: Measured): string {
  const mem = `peak heap ${mb(m.peakHeap)} MB, RSS ${mb(m.endRss)} MB after`;
  if (m.failed || !m.span)
    return `  ${m.backend.padEnd(6)} did not finish: ${m.failed ?? 'no measured stretch'} (${mem})\n`;
  const fill = m.fill
    ? `   fill ${fmt.format(perS(m.fill))} rec/s, ${fmt.format(perCpuS(m.fill))} per CPU-s (${(m.fill.wallMs / 1000).toFixed(1)} s)`
    : '';
  return (
    `  ${m.backend.padEnd(6)} ${fmt.format(perS(m.span)).padStart(10)} rec/s ${fmt.format(perCpuS(m.span)).padStart(10)} per CPU-s` +
    `   (${fmt.format(m.span.records)} records in ${(m.span.wallMs / 1000).toFixed(1)} s)${fill}; ${mem}\n`
  );
}

function ratios(ms: Measured[]): string {
  const [heap, disk] = [ms.find((m) => m.backend === 'heap'), ms.find((m) => m.backend === 'disk')];
  if (!heap?.span || !disk?.span) return '  disk/heap: - (one of them did not finish)\n';
  const x = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;
  const fill =
    heap.fill && disk.fill
      ? `; fill: ${x(perS(disk.fill), perS(heap.fill))} rec/s, ${x(perCpuS(disk.fill), perCpuS(heap.fill))} per CPU-s`
      : '';
  return `  disk/heap: ${x(perS(disk.span), perS(heap.span))} rec/s, ${x(perCpuS(disk.span), perCpuS(heap.span))} per CPU-s${fill}\n`;
}

async function workload(title: string, graph: GraphSpec, order: StateBackendKind[], fillAt?: number): Promise<void> {
  process.stdout.write(`\n${title}\n`);
  const ms: Measured[] = [];
  for (const b of order) {
    const m = await runJob(graph, b, fillAt);
    process.stdout.write(line(m));
    ms.push(m);
  }
  process.stdout.write(ratios(ms));
}

export async function stateThroughputBenchmark(): Promise<void> {
  const env = process.env;
  const keys = Number(env['BENCH_TPUT_KEYS'] ?? 10_000_000);
  // 2M draws by default: at 10M keys the disk backend draws ~15,000 records/s here, so N draws
  // would take over ten minutes.
  const draws = Number(env['BENCH_TPUT_DRAWS'] ?? Math.min(keys, 2_000_000));
  const events = Number(env['BENCH_TPUT_Q5_EVENTS'] ?? 5_000_000);
  const order: StateBackendKind[] = env['BENCH_TPUT_ORDER'] === 'heap-first' ? ['heap', 'disk'] : ['disk', 'heap'];
  const only = env['BENCH_TPUT_ONLY'];
  process.stdout.write(
    `state throughput per backend: parallelism 1, unpaced datagen, no checkpoints, ${order.join(' then ')}; ` +
      `heap limit ${mb(getHeapStatistics().heap_size_limit)} MB\n`,
  );
  if (only !== 'q5')
    await workload(
      `(a) rolling count over ${fmt.format(keys)} keys: a fill of every key, then ${fmt.format(draws)} uniform draws (measured)`,
      rollingCount(keys, draws),
      order,
      keys,
    );
  if (only !== 'agg')
    await workload(
      `(b) nexmark q5 (sliding 10 s / 2 s count per auction), ${fmt.format(events)} events; windows and timers in the store on disk`,
      q5(events),
      order,
    );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await stateThroughputBenchmark();
  process.exit(0);
}
