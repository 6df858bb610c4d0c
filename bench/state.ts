// Incremental vs full keyed-state checkpoints against the size of the state, and the same
// incremental checkpoints with the keyed state in the disk backend
// (`BENCH_ONLY=state npm run bench`, or `npm run bench -- state`; standalone: node bench/state.ts).
// Writes docs/images/state-checkpoints.svg (BENCH_STATE_PLOT=0 skips it).
//
// The job: datagen with a `sequence` id at a fixed wall-clock rate (a new key per record) →
// keyBy id → a rolling count (no window) → a counting sink, parallelism 1, a checkpoint every
// interval. So what changes between two checkpoints is constant (rate × interval new keys) while
// the state grows linearly: an incremental checkpoint should cost the same at any size, a full one
// should grow with the state. The same job runs three times in this process: incremental (the
// default) and full (`incremental: false`) with keyed state on the heap, each until the state holds
// BENCH_STATE_KEYS keys or a limit (heap, disk, time) stops it first; then `disk` (incremental,
// `stateBackend: {kind: 'disk'}`, its local store under the run's temp dir) until
// BENCH_STATE_DISK_KEYS keys. The disk mode's keyed state is not on the heap (only its bounded
// cache is), so the heap does not bound it: free disk and time do. Then each run's newest
// checkpoint is restored into a new job of its backend (the disk mode's also into a heap job when
// the heap modes held as many keys).
// Per completed checkpoint: keys in state at its barrier (the datagen position in its metadata:
// one key per record), duration (trigger → metadata), bytes written and bytes referenced.
// Env: BENCH_STATE_RATE (records/s, default 50,000), BENCH_STATE_INTERVAL (default 5s),
// BENCH_STATE_KEYS (default 5,000,000), BENCH_STATE_DISK_KEYS (default BENCH_STATE_KEYS),
// BENCH_STATE_MAX_SECONDS (wall time per mode, default twice the time to reach the mode's keys plus
// 60 s), BENCH_STATE_MIN_FREE_GB (default 2), BENCH_STATE_ORDER=full-first (default incremental
// first; disk always last), BENCH_STATE_MODES (default incremental,full,disk).
// Not part of the full `npm run bench`: about fifteen minutes and a few GB of heap on its own.
import { mkdir, mkdtemp, readFile, readdir, rm, stat, statfs } from 'node:fs/promises';
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
import type { StateBackendOptions } from '../runtime/src/state/state-backend-options.ts';
import { CountingSink } from './checkpoint.ts';
import {
  compare,
  fmt,
  mb,
  plot,
  printMode,
  type ModeName,
  type ModeRun,
  type Point,
  type Restore,
  type Row,
} from './state-report.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const cpuMsOf = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;
/** Heap a restored heap job holds per key, with margin (the heap backend measured ~320 B). */
const HEAP_BYTES_PER_KEY = 400;

interface Config {
  rate: number;
  intervalMs: number;
  /** The heap modes' target. */
  keys: number;
  diskKeys: number;
  /** Wall time per mode; undefined: twice the time to reach the mode's keys plus 60 s. */
  maxSeconds: number | undefined;
  minFreeBytes: number;
}

/** What one mode runs until. */
interface Limits {
  keys: number;
  maxSeconds: number;
  /** Keyed state on the heap: the heap bounds the run at 75 % of its limit. */
  heapBound: boolean;
}

function limitsOf(cfg: Config, mode: ModeName): Limits {
  const keys = mode === 'disk' ? cfg.diskKeys : cfg.keys;
  return { keys, maxSeconds: cfg.maxSeconds ?? Math.ceil((2 * keys) / cfg.rate) + 60, heapBound: mode !== 'disk' };
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
  lim: Limits,
  dir: string,
  records: number,
  t0: number,
  target: boolean,
): Promise<string | undefined> {
  const env = lim.heapBound ? 'BENCH_STATE_KEYS' : 'BENCH_STATE_DISK_KEYS';
  if (target) return `reached ${fmt.format(lim.keys)} keys (${env})`;
  const h = getHeapStatistics();
  // With the disk backend the heap holds a bounded cache, not the state: 90 % there is a
  // guard against a leak ending the process, not the limit of the state.
  if (h.used_heap_size > (lim.heapBound ? 0.75 : 0.9) * h.heap_size_limit)
    return `heap: ${mb(h.used_heap_size)} MB used of a ${mb(h.heap_size_limit)} MB limit at ${fmt.format(records)} records`;
  const fs = await statfs(dir);
  if (fs.bavail * fs.bsize < cfg.minFreeBytes)
    return `disk: under ${mb(cfg.minFreeBytes)} MB free at ${fmt.format(records)} records`;
  if (performance.now() - t0 > lim.maxSeconds * 1000)
    return `time: ${lim.maxSeconds} s (BENCH_STATE_MAX_SECONDS) at ${fmt.format(records)} records`;
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
  // Allocated blocks, not sizes: lmdb's files may be sparse.
  const sizes = await Promise.all(entries.filter((e) => e.isFile()).map((e) => stat(join(e.parentPath, e.name))));
  return sizes.reduce((a, s) => a + Math.min(s.size, s.blocks * 512), 0);
}

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

type Run = Omit<ModeRun, 'restores' | 'restoreBytes' | 'endHeap' | 'endRss'>;

/** The mode's run dir: `state` holds the checkpoints, `local` (disk mode) the local stores. */
interface Dirs {
  state: string;
  local: string;
}

const backendOf = (mode: ModeName, dir: string): StateBackendOptions | undefined =>
  mode === 'disk' ? { kind: 'disk', dir } : undefined;

async function pointsOf(seen: Map<number, CompletedCheckpoint>): Promise<Point[]> {
  const points: Point[] = [];
  for (const c of [...seen.values()].sort((a, b) => a.id - b.id)) {
    const { keys, delta } = await fromMetadata(c.path);
    const [durationMs, snapshotMs, bytes] = [c.durationMs, c.phases?.snapshotMs ?? NaN, c.stateSize];
    const newKeys = keys - (points.at(-1)?.keys ?? 0);
    points.push({ id: c.id, keys, durationMs, snapshotMs, bytes, fullBytes: c.fullStateSize ?? bytes, delta, newKeys });
  }
  return points;
}

/**
 * Runs the job until a limit, then stops it. Returns what the restore needs rather than the job,
 * so the stopped job (millions of keys) is garbage while the restore runs, as in the fresh
 * process a real restore runs in.
 */
async function runMode(cfg: Config, mode: ModeName, dirs: Dirs): Promise<Run> {
  const lim = limitsOf(cfg, mode);
  const { logger, totals } = compactionCounter();
  const job = await createJobExecutor(validateGraph(graph(cfg.rate)), {
    parallelism: 1,
    logger,
    sinkWriter: () => new CountingSink(),
    // Every checkpoint kept: the figures are read from each one's metadata after the run.
    checkpointing: { stateDir: dirs.state, intervalMs: cfg.intervalMs, keepAll: true, incremental: mode !== 'full' },
    stateBackend: backendOf(mode, dirs.local),
  });
  const seen = new Map<number, CompletedCheckpoint>();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const done = job.run();
  let [reachedAt, stopReason, peakHeap] = [undefined as number | undefined, undefined as string | undefined, 0];
  while (stopReason === undefined) {
    await sleep(100);
    const st = job.status();
    peakHeap = Math.max(peakHeap, getHeapStatistics().used_heap_size);
    // The coordinator keeps the last 10 completions: polling every 100 ms misses none.
    for (const c of st.recentCheckpoints ?? []) if (c.kind === 'checkpoint' && c.durationMs > 0) seen.set(c.id, c);
    if (reachedAt === undefined && st.recordsIn >= lim.keys) reachedAt = Math.max(0, ...seen.keys());
    // Past the target, one more checkpoint so the largest point holds about `keys` keys.
    const target = reachedAt !== undefined && Math.max(0, ...seen.keys()) > reachedAt;
    stopReason = await limitHit(cfg, lim, dirs.state, st.recordsIn, t0, target);
  }
  // The job removes its local store when it ends: measured before.
  const localBytes = mode === 'disk' ? await folderBytes(dirs.local) : undefined;
  job.stop();
  await done;
  const wallMs = performance.now() - t0;
  const cpuMs = cpuMsOf(process.cpuUsage(c0));
  const records = job.status().recordsIn;
  const points = await pointsOf(seen);
  const diskBytes = await folderBytes(dirs.state);
  return {
    name: mode,
    points,
    stopReason,
    records,
    cpuMs,
    wallMs,
    diskBytes,
    localBytes,
    compactions: totals,
    peakHeap,
  };
}

/** Restores `chk` into a new job (construction restores) of the given backend; the job never runs. */
async function restoreInto(rate: number, chk: string, backend: StateBackendOptions | undefined): Promise<Restore> {
  const c1 = process.cpuUsage();
  const t1 = performance.now();
  const restored = await createJobExecutor(validateGraph(graph(rate)), {
    parallelism: 1,
    sinkWriter: () => new CountingSink(),
    restoreFrom: chk,
    stateBackend: backend,
  });
  const ms = performance.now() - t1;
  void restored;
  return { into: backend ? `a ${backend.kind}-backed job` : 'a heap job', ms, cpuMs: cpuMsOf(process.cpuUsage(c1)) };
}

/** Whether a heap job can take `keys` keys: the heap modes held as many, and the heap has room now. */
function heapRestoreFits(cfg: Config, keys: number): boolean {
  const h = getHeapStatistics();
  return keys <= cfg.keys * 1.1 && h.used_heap_size + keys * HEAP_BYTES_PER_KEY < 0.6 * h.heap_size_limit;
}

/** One mode end to end: run, stop, restore its newest checkpoint into a new job (construction restores). */
async function measureMode(cfg: Config, mode: ModeName): Promise<ModeRun> {
  const root = await mkdtemp(join(tmpdir(), `trib-bench-state-${mode}-`));
  const dirs = { state: join(root, 'state'), local: join(root, 'local') };
  await Promise.all([mkdir(dirs.state), mkdir(dirs.local)]);
  try {
    const run = await runMode(cfg, mode, dirs);
    const newest = run.points.at(-1);
    if (!newest)
      throw new TributaryError('TRIB_JOB_FAILED', `${run.name}: no checkpoint completed (${run.stopReason})`);
    const chk = join(dirs.state, 'checkpoints', `chk-${newest.id}`);
    const restores = [await restoreInto(cfg.rate, chk, backendOf(mode, join(root, 'restored')))];
    let restoreNote: string | undefined;
    if (mode === 'disk') {
      if (heapRestoreFits(cfg, newest.keys)) restores.push(await restoreInto(cfg.rate, chk, undefined));
      else restoreNote = 'not into a heap job: more keys than the heap modes held, or than the heap has room for';
    }
    const mem = process.memoryUsage();
    return { ...run, restores, restoreNote, restoreBytes: newest.fullBytes, endHeap: mem.heapUsed, endRss: mem.rss };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function modesOf(env: NodeJS.ProcessEnv): ModeName[] {
  // The second run starts with a warm JIT and the first one's garbage to collect: a knob to
  // check the order does not decide the comparison. Disk runs last: it may go furthest.
  const order: ModeName[] =
    env['BENCH_STATE_ORDER'] === 'full-first' ? ['full', 'incremental', 'disk'] : ['incremental', 'full', 'disk'];
  const wanted = (env['BENCH_STATE_MODES'] ?? 'incremental,full,disk').split(',').map((s) => s.trim());
  for (const w of wanted)
    if (!order.includes(w as ModeName))
      throw new TributaryError('TRIB_CLI_USAGE', `BENCH_STATE_MODES: unknown mode "${w}" (incremental, full, disk)`);
  return order.filter((m) => wanted.includes(m));
}

export async function stateBenchmark(): Promise<void> {
  const env = process.env;
  const rate = Number(env['BENCH_STATE_RATE'] ?? 50_000);
  const keys = Number(env['BENCH_STATE_KEYS'] ?? 5_000_000);
  const cfg: Config = {
    rate,
    keys,
    diskKeys: Number(env['BENCH_STATE_DISK_KEYS'] ?? keys),
    intervalMs: parseDuration(env['BENCH_STATE_INTERVAL'] ?? '5s') ?? 5000,
    maxSeconds: env['BENCH_STATE_MAX_SECONDS'] ? Number(env['BENCH_STATE_MAX_SECONDS']) : undefined,
    minFreeBytes: Number(env['BENCH_STATE_MIN_FREE_GB'] ?? 2) * 1e9,
  };
  const modes = modesOf(env);
  process.stdout.write(
    `state size: datagen (a new key per record) at ${fmt.format(rate)} records/s → keyBy → rolling count, parallelism 1, ` +
      `a checkpoint every ${cfg.intervalMs / 1000} s, up to ${fmt.format(keys)} keys on the heap and ${fmt.format(cfg.diskKeys)} with the disk backend; ` +
      `${modes.join(', then ')}; heap limit ${mb(getHeapStatistics().heap_size_limit)} MB\n`,
  );
  const runs = new Map<ModeName, ModeRun>();
  const rs = new Map<ModeName, Row[]>();
  for (const mode of modes) {
    const run = await measureMode(cfg, mode);
    runs.set(mode, run);
    rs.set(mode, printMode(run, rate));
  }
  compare(runs, rs);
  if (env['BENCH_STATE_PLOT'] !== '0') plot([...runs.values()], rate, cfg.intervalMs);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await stateBenchmark();
  // The restored jobs never run; nothing of theirs should hold the process, but do not wait on it.
  process.exit(0);
}
