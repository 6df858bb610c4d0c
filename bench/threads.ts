// More than one core per job: `tributary run` at parallelism 1 (in-process) vs parallelism 2
// on one thread (`--single-thread`), on worker threads (`--threads`, the default: a slot per thread, TCP
// data plane on loopback) and as processes (`--distributed`), all through the CLI as users run
// it, in one run. Two jobs:
//   * q5: seeded nexmark datagen → bids → keyBy auction → sliding 10 s / 2 s count (a keyed
//     shuffle between the slots), results to /dev/null (file sink);
//   * q0: Kafka pass-through, a pre-filled 4-partition topic (bounded: latest) → another topic,
//     at-least-once (needs the local cluster's Kafka, TRIBUTARY_KAFKA_BROKERS; skipped without).
// Throughput = records / (job finished − the last slot's "job running"), from the run's own log
// timestamps, so start-up is not in it; start-up (spawn → the last slot running) is reported
// beside it, and so are records per CPU second of the whole run (user + sys of the process and
// its children, /usr/bin/time): on a machine whose cores other work also uses, the wall-clock
// ratio says little, the per-CPU-second one says what a mode costs per record (2 × its ratio to
// -p 1 is the speed-up two idle cores would allow), and the cores a run kept busy on average
// (CPU ÷ wall). The ceiling, in the same run: how many cores -p 1 already keeps busy (its GC and
// I/O threads beside the event loop; C cores allow at most C ÷ that), and for q5 two -p 1 runs of
// half the events each side by side — two slots with nothing shared, what two cores give the
// engine on this machine. First, the machine itself: plain JavaScript loops alone and two side by
// side (machine-scaling.ts), arithmetic only and allocation-heavy, so a ceiling the engine meets
// can be told from one it makes. And a peer: q5 on Apache Flink (flink-q5.ts: the same events,
// windows and rows, one JVM with a local MiniCluster) at -p 1 and -p 2 in the same rounds, so
// its own -p 2 ÷ -p 1 on these cores stands beside ours (BENCH_THREADS_FLINK=0 skips it). The
// best of BENCH_THREADS_ROUNDS (default 2) rounds counts.
// Env: BENCH_THREADS_Q5 (default 2,000,000 events), BENCH_THREADS_Q0 (default 600,000 records).
// `BENCH_ONLY=threads npm run bench`.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { TributaryError } from '../runtime/src/errors.ts';
import type { GraphSpec } from '../runtime/src/graph/spec.ts';
import { flinkQ5, flinkQ5Classpath, FLINK_VERSION } from './flink-q5.ts';
import { machineScaling } from './machine-scaling.ts';

const root = join(import.meta.dirname, '..');
const node = join(root, 'node_modules/.bin/node');
const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const ROUNDS = Number(process.env['BENCH_THREADS_ROUNDS'] ?? 2);

export interface Mode {
  name: string;
  args: string[];
  env?: Record<string, string>;
}

const MODES: Mode[] = [
  { name: '-p 1', args: ['-p', '1'] },
  { name: '-p 2 --single-thread', args: ['-p', '2', '--single-thread'] },
  { name: '-p 2 --threads', args: ['-p', '2', '--threads'] },
  // The threads' own peer: the same slots linked over loopback TCP instead of MessagePorts.
  { name: '-p 2 --threads over TCP', args: ['-p', '2', '--threads'], env: { TRIBUTARY_THREAD_DATA_PLANE: 'tcp' } },
  { name: '-p 2 --distributed', args: ['-p', '2', '--distributed'] },
];

export interface Result {
  recordsPerS: number;
  startupMs: number;
  /** Records per CPU second, start-up included. */
  perCpuS: number;
  /** CPU seconds ÷ wall seconds of the whole run (spawn to exit): cores it kept busy on average. */
  cores: number;
}

/** One CLI run's raw figures, before they become a Result. */
export interface RunTimes {
  t0: number;
  /** The last slot's "job running" and the "job finished" log times (ms). */
  running: number;
  finished: number;
  end: number;
  cpuS: number;
  /** Records the job emitted, from "job finished" (when it says). */
  recordsOut: number | undefined;
}

/**
 * Runs the CLI of the checkout at `cwd` (default this one) to the end; times from its JSON log
 * lines (the slots' and the supervisor's).
 */
export function runCli(file: string, mode: Mode, stateDir: string, cwd = root): Promise<RunTimes> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const p = spawn(
      '/usr/bin/time',
      [
        '-f',
        'CPU %U %S',
        node,
        'runtime/src/cli/main.ts',
        'run',
        file,
        ...mode.args,
        '--no-progress',
        '--state-dir',
        stateDir,
        '--checkpoint-interval',
        '10s',
      ],
      { cwd, env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info', ...mode.env } },
    );
    let err = '';
    p.stdout.resume();
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${mode.name} exited ${String(code)}: ${err.slice(-1500)}`));
      const cpu = /CPU ([\d.]+) ([\d.]+)\s*$/.exec(err);
      if (!cpu) return reject(new Error(`${mode.name}: no CPU time from /usr/bin/time`));
      let running = 0;
      let finished = 0;
      let recordsOut: number | undefined;
      for (const line of err.split('\n')) {
        if (!line.startsWith('{"level"')) continue;
        const l = JSON.parse(line) as { time: number; msg: string; recordsOut?: number };
        if (l.msg === 'job running') running = Math.max(running, l.time);
        if (l.msg === 'job finished') {
          finished = l.time;
          recordsOut = l.recordsOut;
        }
      }
      if (!running || !finished) return reject(new Error(`${mode.name}: no job running/finished in its log`));
      resolve({ t0, running, finished, end: Date.now(), cpuS: Number(cpu[1]) + Number(cpu[2]), recordsOut });
    });
  });
}

export function q5(count: number, seed = 3): GraphSpec {
  return {
    sources: [
      {
        name: 'events',
        datagen: { generator: 'nexmark', seed, count, startTime: 1_700_000_000_000, eventRate: 10_000 },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' },
      },
    ],
    steps: [
      { name: 'bids', from: 'events', filter: 'event_type == "bid"' },
      { name: 'by-auction', from: 'bids', keyBy: 'auction' },
      { name: 'hop', from: 'by-auction', window: { sliding: { size: '10s', slide: '2s' } } },
      { name: 'counts', from: 'hop', aggregate: { bids: 'count()' } },
    ],
    sinks: [{ name: 'out', from: 'counts', file: { path: '/dev/null' } }],
  };
}

function q0(brokers: string[], input: string, output: string): GraphSpec {
  return {
    sources: [{ name: 'in', kafka: { brokers, topic: input, groupId: `bench-${randomUUID()}`, bounded: 'latest' } }],
    steps: [],
    sinks: [{ name: 'out', from: 'in', kafka: { brokers, topic: output, delivery: 'at-least-once' } }],
  };
}

export function resultOf(records: number, runs: readonly RunTimes[]): Result {
  const t0 = Math.min(...runs.map((r) => r.t0));
  const running = Math.min(...runs.map((r) => r.running));
  const cpuS = runs.reduce((sum, r) => sum + r.cpuS, 0);
  return {
    recordsPerS: (records * 1000) / (Math.max(...runs.map((r) => r.finished)) - running),
    startupMs: Math.max(...runs.map((r) => r.running)) - t0,
    perCpuS: records / cpuS,
    cores: cpuS / ((Math.max(...runs.map((r) => r.end)) - t0) / 1000),
  };
}

const SIDE_BY_SIDE = '2 × -p 1 side by side';

/** A peer engine on the same job: its name and one timed run, given the rows our -p 1 emitted. */
interface Peer {
  name: string;
  run: (engineRows: number | undefined) => Promise<Result>;
}

/** q5 on Flink at `parallelism`; it must emit the rows our engine does, or it is not the same job. */
function flinkPeer(count: number, parallelism: number): Peer {
  return {
    name: `Flink ${FLINK_VERSION} -p ${parallelism}`,
    run: async (want) => {
      const r = await flinkQ5(count, parallelism);
      if (want !== undefined && r.rows !== want)
        throw new TributaryError(
          'TRIB_INVARIANT',
          `Flink q5 -p ${parallelism} emitted ${r.rows} rows, the engine ${want}: not the same job`,
        );
      return {
        recordsPerS: (count * 1000) / r.jobMs,
        startupMs: r.wallMs - r.jobMs,
        perCpuS: count / r.cpuS,
        cores: r.cpuS / (r.wallMs / 1000),
      };
    },
  };
}

/** Flink at -p 1 and -p 2, unless BENCH_THREADS_FLINK=0 or it cannot be fetched or compiled here (said, not fatal). */
function flinkPeers(count: number): Peer[] {
  if (process.env['BENCH_THREADS_FLINK'] === '0') return [];
  try {
    flinkQ5Classpath(); // downloads and compiles once, outside any timing
  } catch (e) {
    process.stdout.write(`\nFlink peer: skipped, it could not be fetched or compiled: ${String(e).slice(0, 300)}\n`);
    return [];
  }
  return [flinkPeer(count, 1), flinkPeer(count, 2)];
}

/**
 * `halves`, when given, adds the machine's own ceiling for two slots as a peer: two `-p 1`
 * runs of half the records each at the same time (nothing shared, no shuffle), timed from
 * the first "job running" to the last "job finished". What they reach over one `-p 1` run is
 * what two cores give this engine here; `-p 2` cannot be expected to beat it.
 */
async function measure(
  label: string,
  records: number,
  graphOf: () => GraphSpec,
  dir: string,
  halves?: () => [GraphSpec, GraphSpec],
  peers: readonly Peer[] = [],
): Promise<void> {
  const results = new Map<string, Result>();
  const keep = (name: string, res: Result): void => {
    const prev = results.get(name);
    if (!prev || res.recordsPerS > prev.recordsPerS) results.set(name, res);
  };
  const fileOf = (g: GraphSpec): string => {
    const file = join(dir, `job-${randomUUID()}.json`);
    writeFileSync(file, JSON.stringify(g));
    return file;
  };
  const state = (): string => join(dir, `state-${randomUUID()}`);
  let rows: number | undefined;
  for (let r = 0; r < ROUNDS; r++) {
    for (const m of MODES) {
      const run = await runCli(fileOf(graphOf()), m, state());
      if (m === MODES[0]) rows = run.recordsOut;
      keep(m.name, resultOf(records, [run]));
    }
    if (halves) {
      const p1 = MODES[0] as Mode;
      const runs = await Promise.all(halves().map((g) => runCli(fileOf(g), p1, state())));
      keep(SIDE_BY_SIDE, resultOf(records, runs));
    }
    for (const peer of peers) keep(peer.name, await peer.run(rows));
  }
  const base = results.get('-p 1') as Result;
  process.stdout.write(`\n${label}, ${fmt.format(records)} records, best of ${ROUNDS}\n`);
  const names = [...MODES.map((m) => m.name), ...(halves ? [SIDE_BY_SIDE] : []), ...peers.map((p) => p.name)];
  for (const name of names) {
    const res = results.get(name) as Result;
    process.stdout.write(
      `  ${name.padEnd(24)} ${fmt.format(res.recordsPerS).padStart(10)} rec/s  ×${(res.recordsPerS / base.recordsPerS).toFixed(2)} of -p 1   ${fmt.format(res.perCpuS).padStart(9)} rec/CPU-s  ×${(res.perCpuS / base.perCpuS).toFixed(2)}   ${res.cores.toFixed(2)} cores busy   start-up ${fmt.format(res.startupMs)} ms\n`,
    );
  }
  // A -p 1 run may keep more than one core busy (GC and I/O threads beside its event loop);
  // on this machine's cores, -p 2 can then reach at most cores ÷ that of -p 1's rate (and 2×).
  const bound = Math.min(2, availableParallelism() / base.cores);
  process.stdout.write(
    `  bound: -p 1 keeps ${base.cores.toFixed(2)} cores busy, so ${availableParallelism()} cores allow -p 2 at most ×${bound.toFixed(2)} of it at -p 1's CPU per record`,
  );
  const side = results.get(SIDE_BY_SIDE);
  const threads = results.get('-p 2 --threads') as Result;
  if (side)
    process.stdout.write(
      `; two independent -p 1 runs reached ×${(side.recordsPerS / base.recordsPerS).toFixed(2)}, -p 2 --threads ×${(threads.recordsPerS / side.recordsPerS).toFixed(2)} of that`,
    );
  process.stdout.write('\n');
  const tcp = results.get('-p 2 --threads over TCP') as Result;
  process.stdout.write(
    `  slot threads over MessagePorts ×${(threads.recordsPerS / tcp.recordsPerS).toFixed(2)} of over loopback TCP (records/s), ×${(threads.perCpuS / tcp.perCpuS).toFixed(2)} (records per CPU-second)\n`,
  );
  const [p1, p2] = peers.map((p) => results.get(p.name) as Result);
  if (p1 && p2)
    process.stdout.write(
      `  peer: ${peers[1]?.name} ×${(p2.recordsPerS / p1.recordsPerS).toFixed(2)} of its -p 1 (records/s), ×${(p2.perCpuS / p1.perCpuS).toFixed(2)} (records per CPU-second); -p 2 --threads ×${(threads.recordsPerS / base.recordsPerS).toFixed(2)} of ours\n`,
    );
}

export async function threadsBenchmarks(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-threads-'));
  try {
    process.stdout.write(
      `\nthe machine without the engine: plain JavaScript alone and two processes side by side, best of ${ROUNDS}\n`,
    );
    for (const f of await machineScaling(ROUNDS))
      process.stdout.write(
        `  ${f.kind.padEnd(22)} alone ${fmt.format(f.aloneMs).padStart(6)} ms   side by side ${fmt.format(f.sideBySideMs).padStart(6)} ms   two processes give ×${f.scaling.toFixed(2)} of one\n`,
      );
    const n5 = Number(process.env['BENCH_THREADS_Q5'] ?? 2_000_000);
    await measure(
      'q5 (nexmark sliding window count, keyed shuffle)',
      n5,
      () => q5(n5),
      dir,
      () => [q5(Math.ceil(n5 / 2), 3), q5(Math.floor(n5 / 2), 4)],
      flinkPeers(n5),
    );
    const brokers = process.env['TRIBUTARY_KAFKA_BROKERS']?.split(',');
    if (!brokers) {
      process.stdout.write('\nq0 (Kafka pass-through): skipped, TRIBUTARY_KAFKA_BROKERS is not set\n');
      return;
    }
    const n0 = Number(process.env['BENCH_THREADS_Q0'] ?? 600_000);
    const kafka = new kafkajs.Kafka({ clientId: 'bench-threads', brokers, logLevel: kafkajs.logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const run = randomUUID().slice(0, 8);
    const input = `bench-threads-in-${run}`;
    await admin.createTopics({ topics: [{ topic: input, numPartitions: 4 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    const value = JSON.stringify({ user: 'u', page: '/index.html', amount: 3, pad: 'x'.repeat(40) });
    for (let sent = 0; sent < n0; sent += 10_000)
      await producer.send({
        topic: input,
        messages: Array.from({ length: Math.min(10_000, n0 - sent) }, (_, i) => ({ partition: (sent + i) % 4, value })),
      });
    await producer.disconnect();
    const outputs: string[] = [];
    try {
      await measure(
        'q0 (Kafka pass-through, 4 partitions)',
        n0,
        () => {
          const out = `bench-threads-out-${run}-${outputs.length}`;
          outputs.push(out);
          return q0(brokers, input, out);
        },
        dir,
      );
    } finally {
      await admin.deleteTopics({ topics: [input, ...outputs] }).catch(() => undefined);
      await admin.disconnect();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
