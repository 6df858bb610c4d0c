// The state bench's (state.ts) report: per-mode tables of checkpoints by keys in state, the
// comparison of the modes measured in the same run, and the figure. Reads only what the runs
// measured; runs nothing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChart, type Series } from './svg-plot.ts';

export const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
export const mb = (b: number): string => (b / 1e6).toFixed(1);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** incremental and full keep keyed state on the heap; disk keeps it in the disk backend (incremental checkpoints). */
export type ModeName = 'incremental' | 'full' | 'disk';

/** One completed checkpoint: keys at its barrier, what it cost, and whether it wrote a delta. */
export interface Point {
  id: number;
  keys: number;
  durationMs: number;
  /** The part in the pipeline's way: keyed state serialized on the task's thread. */
  snapshotMs: number;
  bytes: number;
  fullBytes: number;
  delta: boolean;
  /** Keys added since the previous checkpoint (one per record): what an incremental checkpoint writes. */
  newKeys: number;
}

export interface Restore {
  /** Where the checkpoint was restored to: a job of the same backend, or (disk mode) a heap job. */
  into: string;
  ms: number;
  cpuMs: number;
}

export interface ModeRun {
  name: ModeName;
  points: Point[];
  stopReason: string;
  records: number;
  cpuMs: number;
  wallMs: number;
  /** Every byte the run left in its checkpoint folder (compacted chains included). */
  diskBytes: number;
  /** disk mode: the local store's files just before the stop (the store is removed when the job ends). */
  localBytes?: number;
  /** Background compactions of incremental chains (chain-compactor.ts): off the checkpoint path, not in its bytes. */
  compactions: { n: number; bytes: number; ms: number };
  /** Largest used heap polled during the run (every 100 ms). */
  peakHeap: number;
  /** The process at the end of the mode, its restores done (process.memoryUsage()). */
  endHeap: number;
  endRss: number;
  /** The first restores into a job of the mode's backend; disk mode may add one into a heap job. */
  restores: Restore[];
  /** Why a restore was not measured (disk mode: into a heap job too large for it). */
  restoreNote?: string;
  restoreBytes: number;
}

/** The checkpoints within ±0.5M keys of `m` million. */
function bucket(points: Point[], m: number): Point[] {
  return points.filter((p) => Math.abs(p.keys - m * 1e6) < 0.5e6);
}

export interface Row {
  m: number;
  /** Median keys of the bucket's checkpoints: what growth is measured against. */
  keys: number;
  n: number;
  full: number;
  ms: number;
  maxMs: number;
  snapshotMs: number;
  bytes: number;
  /** Median bytes written per key added since the previous checkpoint. */
  bytesPerNewKey: number;
  maxBytes: number;
  refBytes: number;
}

export function rows(run: ModeRun): Row[] {
  const top = Math.round(Math.max(0, ...run.points.map((p) => p.keys)) / 1e6);
  const out: Row[] = [];
  for (let m = 1; m <= top; m++) {
    const b = bucket(run.points, m);
    if (b.length === 0) continue;
    // The incremental runs' medians are of their deltas: with 2 to 5 checkpoints a bucket, one
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
      bytesPerNewKey: median(typical.map((p) => p.bytes / p.newKeys)),
      maxBytes: Math.max(...b.map((p) => p.bytes)),
      refBytes: b.at(-1)!.fullBytes,
    });
  }
  return out;
}

const perCpuS = (r: ModeRun): number => r.records / (r.cpuMs / 1000);

function summary(run: ModeRun, rate: number): string {
  const last = run.points.at(-1)!;
  return (
    `\n${run.name}: ${run.points.length} checkpoints, last at ${fmt.format(last.keys)} keys; stopped: ${run.stopReason}\n` +
    `  ${fmt.format(run.records)} records in ${(run.wallMs / 1000).toFixed(0)} s (${fmt.format(run.records / (run.wallMs / 1000))}/s of ${fmt.format(rate)}/s paced), ` +
    `${fmt.format(perCpuS(run))} records per CPU-second; ${mb(run.diskBytes)} MB of checkpoints left on disk` +
    (run.compactions.n > 0
      ? ` (of which ${run.compactions.n} background compactions of chains wrote ${mb(run.compactions.bytes)} MB in ${fmt.format(run.compactions.ms)} ms)`
      : '') +
    (run.localBytes !== undefined ? `; local store ${mb(run.localBytes)} MB at the stop` : '') +
    `\n  heap: peak ${mb(run.peakHeap)} MB used during the run; at the end of the mode ${mb(run.endHeap)} MB used, RSS ${mb(run.endRss)} MB\n`
  );
}

export function printMode(run: ModeRun, rate: number): Row[] {
  const rs = rows(run);
  const last = run.points.at(-1)!;
  process.stdout.write(
    summary(run, rate) +
      `  keys (±0.5M)  ckpts (full) median ms*   max ms  snapshot ms  median written MB  max written MB  referenced MB\n`,
  );
  for (const r of rs)
    process.stdout.write(
      `  ${`~${r.m}M`.padEnd(13)}${`${r.n} (${r.full})`.padStart(12)}${fmt.format(r.ms).padStart(11)}${fmt.format(r.maxMs).padStart(9)}` +
        `${fmt.format(r.snapshotMs).padStart(13)}` +
        `${mb(r.bytes).padStart(19)}${mb(r.maxBytes).padStart(16)}${mb(r.refBytes).padStart(15)}\n`,
    );
  if (run.points.some((p) => p.delta))
    process.stdout.write('  * medians over the deltas; full snapshots are counted in (full) and in the maxima\n');
  const restores = run.restores.map((r) => `into ${r.into} ${fmt.format(r.ms)} ms (${fmt.format(r.cpuMs)} ms CPU)`);
  process.stdout.write(
    `  restore of the newest (chk-${last.id}, ${fmt.format(last.keys)} keys, ${mb(run.restoreBytes)} MB read): ${restores.join(', ')}` +
      `${run.restoreNote ? `; ${run.restoreNote}` : ''}\n`,
  );
  return rs;
}

const x = (a: number, b: number): string => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : '-');

/** How a mode's checkpoint grew from its first bucket to its last. */
function growth(name: string, a: Row, b: Row, verdict: string): void {
  process.stdout.write(
    `  ${name.padEnd(12)} ~${a.m}M → ~${b.m}M keys (median keys ${x(b.keys, a.keys)}): duration ${x(b.ms, a.ms)}, ` +
      `snapshot ${x(b.snapshotMs, a.snapshotMs)}, bytes written ${x(b.bytes, a.bytes)}; ${verdict}\n`,
  );
}

/** One line per metric, a column per mode, then the ratios disk / incremental and incremental / full. */
function table(at: Map<ModeName, Row>, runs: Map<ModeName, ModeRun>): void {
  const cols: ModeName[] = ['incremental', 'full', 'disk'];
  const metrics: [string, (r: Row, run: ModeRun) => number, (v: number) => string][] = [
    ['median checkpoint ms', (r) => r.ms, (v) => fmt.format(v)],
    ['median snapshot ms', (r) => r.snapshotMs, (v) => fmt.format(v)],
    ['median written MB', (r) => r.bytes, mb],
    ['written B per new key', (r) => r.bytesPerNewKey, (v) => v.toFixed(1)],
    ['records/s (paced)', (_r, run) => run.records / (run.wallMs / 1000), (v) => fmt.format(v)],
    ['records per CPU-second', (_r, run) => perCpuS(run), (v) => fmt.format(v)],
    // Keys per second, not ms: the modes' newest checkpoints may hold different numbers of keys.
    [
      'restore keys/s (same backend)',
      (_r, run) => run.points.at(-1)!.keys / ((run.restores[0]?.ms ?? NaN) / 1000),
      (v) => fmt.format(v),
    ],
  ];
  process.stdout.write(
    `  ${''.padEnd(30)}${cols.map((c) => c.padStart(13)).join('')}${'disk/inc'.padStart(10)}${'inc/full'.padStart(10)}\n`,
  );
  for (const [label, pick, show] of metrics) {
    const v = new Map(cols.map((c) => [c, at.has(c) ? pick(at.get(c)!, runs.get(c)!) : NaN] as const));
    const cell = (c: ModeName): string => (Number.isFinite(v.get(c)!) ? show(v.get(c)!) : '-');
    process.stdout.write(
      `  ${label.padEnd(30)}${cols.map((c) => cell(c).padStart(13)).join('')}` +
        `${x(v.get('disk')!, v.get('incremental')!).padStart(10)}${x(v.get('incremental')!, v.get('full')!).padStart(10)}\n`,
    );
  }
}

export function compare(runs: Map<ModeName, ModeRun>, rs: Map<ModeName, Row[]>): void {
  const measured = [...rs].filter(([, r]) => r.length > 0);
  if (measured.length < 2) {
    process.stdout.write('\nnot enough modes with checkpoints for the comparison (fewer than one per million keys)\n');
    return;
  }
  // The largest bucket every mode reached: the disk mode may go further than the heap modes.
  const m = Math.min(...measured.map(([, r]) => r.at(-1)!.m));
  const at = new Map(measured.map(([n, r]) => [n, r.find((row) => row.m === m)] as const).filter(([, r]) => r));
  process.stdout.write(`\nthe modes at ~${m}M keys (medians):\n`);
  table(at as Map<ModeName, Row>, runs);
  for (const [name, r] of measured) {
    const [a, b] = [r[0]!, r.at(-1)!];
    if (name === 'full')
      growth(
        name,
        a,
        b,
        `bytes grow ${(b.bytes / a.bytes / (b.keys / a.keys)).toFixed(2)}x as fast as the keys (1.00 = linear)`,
      );
    else growth(name, a, b, `target duration within 2x: ${b.ms / a.ms <= 2 ? 'met' : 'NOT met'}`);
  }
  const heap = runs.get('disk')?.restores.find((r) => r.into === 'a heap job');
  const inc = runs.get('incremental')?.restores[0];
  if (heap && inc)
    process.stdout.write(
      `  the disk mode's newest checkpoint into a heap job: ${fmt.format(heap.ms)} ms (the incremental mode's into a heap job: ${fmt.format(inc.ms)} ms)\n`,
    );
}

const COLORS: Record<ModeName, string> = { incremental: '#1f77b4', full: '#d62728', disk: '#2ca02c' };

export function plot(runs: ModeRun[], rate: number, intervalMs: number): void {
  const series = (pick: (p: Point) => number): Series[] =>
    runs.map((r) => ({
      label: r.name === 'disk' ? 'disk backend' : r.name,
      color: COLORS[r.name],
      points: r.points.map((p) => [p.keys / 1e6, pick(p)] as const),
      dashed: r.name === 'full',
    }));
  const svg = lineChart(
    `Checkpoints vs state size: ${fmt.format(rate)} new keys/s, every ${intervalMs / 1000} s (BENCH_ONLY=state npm run bench)`,
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
