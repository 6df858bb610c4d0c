// Incremental vs full keyed-state checkpoints against the size of the state
// (`BENCH_ONLY=state npm run bench`, or `npm run bench -- state`; standalone: node bench/state.ts).
// Writes docs/images/state-checkpoints.svg (BENCH_STATE_PLOT=0 skips it).
//
// The job: datagen with a `sequence` id at a fixed wall-clock rate (a new key per record) →
// keyBy id → a rolling count (no window) → a counting sink, parallelism 1, a checkpoint every
// interval. So what changes between two checkpoints is constant (rate × interval new keys) while
// the state grows linearly: an incremental checkpoint should cost the same at any size, a full one
// should grow with the state. The same job runs twice in this process, incremental (the default)
// and full (`incremental: false`), each until the state holds BENCH_STATE_KEYS keys or a limit
// (heap, disk, time) stops it first; then its newest checkpoint is restored into a new job.
// Per completed checkpoint: keys in state at its barrier (the datagen position in its metadata:
// one key per record), duration (trigger → metadata), bytes written and bytes referenced.
// Env: BENCH_STATE_RATE (records/s, default 50,000), BENCH_STATE_INTERVAL (default 5s),
// BENCH_STATE_KEYS (default 5,000,000), BENCH_STATE_MAX_SECONDS (wall time per mode, default
// twice the time to reach the keys plus 60 s), BENCH_STATE_MIN_FREE_GB (default 2),
// BENCH_STATE_ORDER=full-first (default incremental first).
// Not part of the full `npm run bench`: about ten minutes and a few GB of heap on its own.
import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import pino from 'pino';
import type { CompletedCheckpoint } from '../runtime/src/checkpoint/coordinator.ts';
import { TributaryError } from '../runtime/src/errors.ts';
import { validateGraph } from '../runtime/src/connectors/validate-graph.ts';
import { parseDuration } from '../runtime/src/graph/duration.ts';
import type { GraphSpec } from '../runtime/src/graph/spec.ts';
import { createJobExecutor } from '../runtime/src/job/job-executor.ts';
import { CountingSink } from './checkpoint.ts';
import { lineChart, type Series } from './svg-plot.ts';

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const mb = (b: number): string => (b / 1e6).toFixed(1);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const cpuMsOf = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Config {
  rate: number;
  intervalMs: number;
  keys: number;
  maxSeconds: number;
  minFreeBytes: number;
}

/** One completed checkpoint: keys at its barrier, what it cost, and whether it wrote a delta. */
interface Point {
  id: number;
  keys: number;
  durationMs: number;
  /** The part in the pipeline's way: keyed state serialized on the task's thread. */
  snapshotMs: number;
  bytes: number;
  fullBytes: number;
  delta: boolean;
}

interface ModeRun {
  name: string;
  points: Point[];
  stopReason: string;
  records: number;
  cpuMs: number;
  wallMs: number;
  /** Every byte the run left in its state folder (compacted chains included). */
  diskBytes: number;
  /** Background compactions of incremental chains (chain-compactor.ts): off the checkpoint path, not in its bytes. */
  compactions: { n: number; bytes: number; ms: number };
  restoreMs: number;
  restoreCpuMs: number;
  restoreBytes: number;
}

function graph(rate: number): GraphSpec {
  return {
    sources: [
      {
        name: 'gen',
        // `rate` paces the source on the wall clock; eventRate alone only spaces event times.
        datagen: { generator: 'schema', seed: 1, rate, eventRate: rate, fields: { id: { type: 'sequence' } } },
      },
    ],
    steps: [
      { name: 'by-id', from: 'gen', keyBy: 'id' },
      { name: 'agg', from: 'by-id', aggregate: { n: 'count()' } },
    ],
    sinks: [{ name: 'out', from: 'agg', console: {} }],
  };
}

/** Why the run must stop now, if it must: its keys are reached, or heap, disk or time ran out. */
async function limitHit(
  cfg: Config,
  dir: string,
  records: number,
  t0: number,
  target: boolean,
): Promise<string | undefined> {
  if (target) return `reached ${fmt.format(cfg.keys)} keys (BENCH_STATE_KEYS)`;
  const h = getHeapStatistics();
  if (h.used_heap_size > 0.75 * h.heap_size_limit)
    return `heap: ${mb(h.used_heap_size)} MB used of a ${mb(h.heap_size_limit)} MB limit at ${fmt.format(records)} records`;
  const fs = await statfs(dir);
  if (fs.bavail * fs.bsize < cfg.minFreeBytes)
    return `disk: under ${mb(cfg.minFreeBytes)} MB free at ${fmt.format(records)} records`;
  if (performance.now() - t0 > cfg.maxSeconds * 1000)
    return `time: ${cfg.maxSeconds} s (BENCH_STATE_MAX_SECONDS) at ${fmt.format(records)} records`;
  return undefined;
}

/** Keys at the barrier (the datagen's position: one key per record) and whether it wrote a delta. */
async function fromMetadata(path: string): Promise<{ keys: number; delta: boolean }> {
  type Handle = { from?: string; deltas?: { from?: string }[] };
  const m = JSON.parse(await readFile(join(path, '_metadata.json'), 'utf8')) as {
    sources: Record<string, { position: { next: number } }[]>;
    operators: Record<string, { keyed?: Handle[] }>;
  };
  const keys = m.sources['gen']!.reduce((a, s) => a + s.position.next, 0);
  const h = m.operators['agg']?.keyed?.[0];
  // A delta written by this checkpoint is the chain's last one, kept in this folder (no `from`).
  const last = h?.deltas?.at(-1);
  return { keys, delta: last !== undefined && last.from === undefined };
}

async function folderBytes(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const sizes = await Promise.all(entries.filter((e) => e.isFile()).map((e) => stat(join(e.parentPath, e.name))));
  return sizes.reduce((a, s) => a + s.size, 0);
}

/**
 * Runs the job until a limit, then stops it. Returns what the restore needs rather than the job,
 * so the stopped job (millions of keys) is garbage while the restore runs, as in the fresh
 * process a real restore runs in.
 */
/**
 * A logger that counts the slot's background compactions of incremental chains from their log
 * line (their bytes are written outside any checkpoint's figures) and passes warnings on.
 */
function compactionCounter(): { logger: pino.Logger; totals: ModeRun['compactions'] } {
  const totals = { n: 0, bytes: 0, ms: 0 };
  const write = (line: string): void => {
    const o = JSON.parse(line) as { level: number; msg?: string; bytes?: number; ms?: number };
    if (o.msg === 'compacted a chain of incremental checkpoints') {
      totals.n++;
      totals.bytes += o.bytes ?? 0;
      totals.ms += o.ms ?? 0;
    } else if (o.level >= 40) process.stderr.write(line);
  };
  return { logger: pino({ level: 'info' }, { write }), totals };
}

type Run = Omit<ModeRun, 'restoreMs' | 'restoreCpuMs' | 'restoreBytes'>;

async function runMode(cfg: Config, incremental: boolean, dir: string): Promise<Run> {
  const { logger, totals } = compactionCounter();
  const job = await createJobExecutor(validateGraph(graph(cfg.rate)), {
    parallelism: 1,
    logger,
    sinkWriter: () => new CountingSink(),
    // Every checkpoint kept: the figures are read from each one's metadata after the run.
    checkpointing: { stateDir: dir, intervalMs: cfg.intervalMs, keepAll: true, incremental },
  });
  const seen = new Map<number, CompletedCheckpoint>();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const done = job.run();
  let reachedAt: number | undefined;
  let stopReason: string | undefined;
  while (stopReason === undefined) {
    await sleep(100);
    const st = job.status();
    // The coordinator keeps the last 10 completions: polling every 100 ms misses none.
    for (const c of st.recentCheckpoints ?? []) if (c.kind === 'checkpoint' && c.durationMs > 0) seen.set(c.id, c);
    if (reachedAt === undefined && st.recordsIn >= cfg.keys) reachedAt = Math.max(0, ...seen.keys());
    // Past the target, one more checkpoint so the largest point holds about `keys` keys.
    const target = reachedAt !== undefined && Math.max(0, ...seen.keys()) > reachedAt;
    stopReason = await limitHit(cfg, dir, st.recordsIn, t0, target);
  }
  job.stop();
  await done;
  const wallMs = performance.now() - t0;
  const cpuMs = cpuMsOf(process.cpuUsage(c0));
  const records = job.status().recordsIn;
  const points: Point[] = [];
  for (const c of [...seen.values()].sort((a, b) => a.id - b.id)) {
    const { keys, delta } = await fromMetadata(c.path);
    points.push({
      id: c.id,
      keys,
      durationMs: c.durationMs,
      snapshotMs: c.phases?.snapshotMs ?? NaN,
      bytes: c.stateSize,
      fullBytes: c.fullStateSize ?? c.stateSize,
      delta,
    });
  }
  const name = incremental ? 'incremental' : 'full';
  return { name, points, stopReason, records, cpuMs, wallMs, diskBytes: await folderBytes(dir), compactions: totals };
}

/** One mode end to end: run, stop, restore its newest checkpoint into a new job (construction restores). */
async function measureMode(cfg: Config, incremental: boolean): Promise<ModeRun> {
  const dir = await mkdtemp(join(tmpdir(), `trib-bench-state-${incremental ? 'inc' : 'full'}-`));
  try {
    const run = await runMode(cfg, incremental, dir);
    const newest = run.points.at(-1);
    if (!newest)
      throw new TributaryError('TRIB_JOB_FAILED', `${run.name}: no checkpoint completed (${run.stopReason})`);
    const c1 = process.cpuUsage();
    const t1 = performance.now();
    const restored = await createJobExecutor(validateGraph(graph(cfg.rate)), {
      parallelism: 1,
      sinkWriter: () => new CountingSink(),
      restoreFrom: join(dir, 'checkpoints', `chk-${newest.id}`),
    });
    const restoreMs = performance.now() - t1;
    const restoreCpuMs = cpuMsOf(process.cpuUsage(c1));
    void restored;
    return { ...run, restoreMs, restoreCpuMs, restoreBytes: newest.fullBytes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The checkpoints within ±0.5M keys of `m` million. */
function bucket(points: Point[], m: number): Point[] {
  return points.filter((p) => Math.abs(p.keys - m * 1e6) < 0.5e6);
}

interface Row {
  m: number;
  /** Median keys of the bucket's checkpoints: what growth is measured against. */
  keys: number;
  n: number;
  full: number;
  ms: number;
  maxMs: number;
  snapshotMs: number;
  bytes: number;
  maxBytes: number;
  refBytes: number;
}

function rows(run: ModeRun): Row[] {
  const top = Math.round(Math.max(0, ...run.points.map((p) => p.keys)) / 1e6);
  const out: Row[] = [];
  for (let m = 1; m <= top; m++) {
    const b = bucket(run.points, m);
    if (b.length === 0) continue;
    // The incremental run's medians are of its deltas: with 2 to 5 checkpoints a bucket, one
    // periodic full snapshot (end of a chain) would otherwise decide a median. It is counted in
    // `full` and shows in the maxima.
    const deltas = b.filter((p) => p.delta);
    const typical = deltas.length > 0 ? deltas : b;
    out.push({
      m,
      keys: median(typical.map((p) => p.keys)),
      n: b.length,
      full: b.length - deltas.length,
      ms: median(typical.map((p) => p.durationMs)),
      maxMs: Math.max(...b.map((p) => p.durationMs)),
      snapshotMs: median(typical.map((p) => p.snapshotMs)),
      bytes: median(typical.map((p) => p.bytes)),
      maxBytes: Math.max(...b.map((p) => p.bytes)),
      refBytes: b.at(-1)!.fullBytes,
    });
  }
  return out;
}

function printMode(run: ModeRun, cfg: Config): Row[] {
  const rs = rows(run);
  const last = run.points.at(-1)!;
  process.stdout.write(
    `\n${run.name}: ${run.points.length} checkpoints, last at ${fmt.format(last.keys)} keys; stopped: ${run.stopReason}\n` +
      `  ${fmt.format(run.records)} records in ${(run.wallMs / 1000).toFixed(0)} s (${fmt.format(run.records / (run.wallMs / 1000))}/s of ${fmt.format(cfg.rate)}/s paced), ` +
      `${fmt.format(run.records / (run.cpuMs / 1000))} records per CPU-second; ${mb(run.diskBytes)} MB left on disk` +
      (run.compactions.n > 0
        ? ` (of which ${run.compactions.n} background compactions of chains wrote ${mb(run.compactions.bytes)} MB in ${fmt.format(run.compactions.ms)} ms)`
        : '') +
      `\n  keys (±0.5M)  ckpts (full) median ms*   max ms  snapshot ms  median written MB  max written MB  referenced MB\n`,
  );
  for (const r of rs)
    process.stdout.write(
      `  ${`~${r.m}M`.padEnd(13)}${`${r.n} (${r.full})`.padStart(12)}${fmt.format(r.ms).padStart(11)}${fmt.format(r.maxMs).padStart(9)}` +
        `${fmt.format(r.snapshotMs).padStart(13)}` +
        `${mb(r.bytes).padStart(19)}${mb(r.maxBytes).padStart(16)}${mb(r.refBytes).padStart(15)}\n`,
    );
  if (run.points.some((p) => p.delta))
    process.stdout.write('  * medians over the deltas; full snapshots are counted in (full) and in the maxima\n');
  process.stdout.write(
    `  restore of the newest (chk-${last.id}, ${fmt.format(last.keys)} keys): ${fmt.format(run.restoreMs)} ms ` +
      `(${fmt.format(run.restoreCpuMs)} ms CPU), ${mb(run.restoreBytes)} MB read\n`,
  );
  return rs;
}

function compare(inc: ModeRun, full: ModeRun, ri: Row[], rf: Row[]): void {
  const [i0, i1, f0, f1] = [ri[0], ri.at(-1), rf[0], rf.at(-1)];
  if (!i0 || !i1 || !f0 || !f1) {
    process.stdout.write('\nnot enough checkpoints for the comparison (fewer than one per million keys)\n');
    return;
  }
  const m = Math.min(i1.m, f1.m);
  const [ai, af] = [ri.find((r) => r.m === m)!, rf.find((r) => r.m === m)!];
  const x = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;
  process.stdout.write(
    `\nincremental / full at ~${m}M keys (medians): checkpoint duration ${x(ai.ms, af.ms)}, bytes written ${x(ai.bytes, af.bytes)}\n`,
  );
  const grow = (name: string, a: Row, b: Row, verdict: string): void => {
    process.stdout.write(
      `  ${name.padEnd(12)} ~${a.m}M → ~${b.m}M keys (median keys ${x(b.keys, a.keys)}): duration ${x(b.ms, a.ms)}, ` +
        `snapshot ${x(b.snapshotMs, a.snapshotMs)}, bytes written ${x(b.bytes, a.bytes)}; ${verdict}\n`,
    );
  };
  const incOk = i1.ms / i0.ms <= 2;
  grow('incremental', i0, i1, `target duration within 2x: ${incOk ? 'met' : 'NOT met'}`);
  const linear = f1.bytes / f0.bytes / (f1.keys / f0.keys);
  grow('full', f0, f1, `bytes grow ${linear.toFixed(2)}x as fast as the keys (1.00 = linear)`);
  process.stdout.write(
    `  restore of the newest: incremental ${fmt.format(inc.restoreMs)} ms (${mb(inc.restoreBytes)} MB), full ${fmt.format(full.restoreMs)} ms (${mb(full.restoreBytes)} MB): ${x(inc.restoreMs, full.restoreMs)}\n` +
      `  records per CPU-second: incremental ${fmt.format(inc.records / (inc.cpuMs / 1000))}, full ${fmt.format(full.records / (full.cpuMs / 1000))}: ` +
      `${x(inc.records / inc.cpuMs, full.records / full.cpuMs)}\n`,
  );
}

function plot(inc: ModeRun, full: ModeRun, cfg: Config): void {
  const series = (pick: (p: Point) => number): Series[] => [
    { label: 'incremental', color: '#1f77b4', points: inc.points.map((p) => [p.keys / 1e6, pick(p)] as const) },
    { label: 'full', color: '#d62728', points: full.points.map((p) => [p.keys / 1e6, pick(p)] as const), dashed: true },
  ];
  const svg = lineChart(
    `Checkpoints vs state size: ${fmt.format(cfg.rate)} new keys/s, every ${cfg.intervalMs / 1000} s (BENCH_ONLY=state npm run bench)`,
    'keys in state (millions)',
    [
      { title: 'checkpoint duration (ms)', series: series((p) => p.durationMs) },
      { title: 'bytes written (MB)', series: series((p) => p.bytes / 1e6) },
    ],
  );
  const figure = join(import.meta.dirname, '../docs/images/state-checkpoints.svg');
  writeFileSync(figure, `<!-- Written by bench/state.ts: BENCH_ONLY=state npm run bench -->\n${svg}`);
  process.stdout.write(`\nwrote ${figure}\n`);
}

export async function stateBenchmark(): Promise<void> {
  const rate = Number(process.env['BENCH_STATE_RATE'] ?? 50_000);
  const keys = Number(process.env['BENCH_STATE_KEYS'] ?? 5_000_000);
  // The second run starts with a warm JIT and the first one's garbage to collect: a knob to
  // check the order does not decide the comparison.
  const fullFirst = process.env['BENCH_STATE_ORDER'] === 'full-first';
  const cfg: Config = {
    rate,
    keys,
    intervalMs: parseDuration(process.env['BENCH_STATE_INTERVAL'] ?? '5s') ?? 5000,
    maxSeconds: Number(process.env['BENCH_STATE_MAX_SECONDS'] ?? Math.ceil((2 * keys) / rate) + 60),
    minFreeBytes: Number(process.env['BENCH_STATE_MIN_FREE_GB'] ?? 2) * 1e9,
  };
  process.stdout.write(
    `state size: datagen (a new key per record) at ${fmt.format(rate)} records/s → keyBy → rolling count, parallelism 1, ` +
      `a checkpoint every ${cfg.intervalMs / 1000} s, up to ${fmt.format(keys)} keys; ${fullFirst ? 'full, then incremental' : 'incremental, then full'}\n`,
  );
  const done = new Map<boolean, [ModeRun, Row[]]>();
  for (const incremental of fullFirst ? [false, true] : [true, false]) {
    const run = await measureMode(cfg, incremental);
    done.set(incremental, [run, printMode(run, cfg)]);
  }
  const [[inc, ri], [full, rf]] = [done.get(true)!, done.get(false)!];
  compare(inc, full, ri, rf);
  if (process.env['BENCH_STATE_PLOT'] !== '0') plot(inc, full, cfg);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await stateBenchmark();
  // The restored jobs never run; nothing of theirs should hold the process, but do not wait on it.
  process.exit(0);
}
