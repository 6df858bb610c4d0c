// Figures of bench/live-rescale.ts from the output samples (write time = the output topic's
// LogAppendTime, latency = write time − the input record's produce time): the longest output gap
// and the latency percentiles of one rescale, the table comparing live with savepoint, the plot.
import type { OutputSample } from './live-rescale-io.ts';
import { lineChart, type Panel, type Series } from './svg-plot.ts';

export type Mode = 'live' | 'savepoint';

/** One rescale as the bench drove it (epoch ms). */
export interface Phase {
  mode: Mode;
  from: number;
  to: number;
  /** Start of the steady window: `windowMs` before the request. */
  steadyFrom: number;
  requestAt: number;
  /** live: rescale() resolved; savepoint: the restored job's first output write. */
  doneAt: number;
  /** Where the time went, in ms after the request (live: progress reports; savepoint: its steps). */
  marks: Record<string, number>;
  /** What moved (live), for the table. */
  note: string;
}

export interface Figures {
  phase: Phase;
  /** Longest gap between consecutive output writes from the request to the window's end. */
  gapMs: number;
  gapAt: number;
  /** The same over the steady window: what the output's own cadence (sink batches, checkpoints) gives. */
  steadyGapMs: number;
  steady: Latency;
  around: Latency;
  totalMs: number;
  /** End of the rescale window: the later of request + window and done + 5 s. */
  windowEnd: number;
}

export interface Latency {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

function latency(xs: number[]): Latency {
  const s = xs.sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
  return { n: s.length, p50: at(0.5), p99: at(0.99), max: s.at(-1) ?? Number.NaN };
}

/**
 * The samples arrive in offset order of a one-partition topic, so `appendAt` never decreases; the
 * gap is measured over writes, the reader's own polling adds nothing to it.
 */
export function figures(samples: readonly OutputSample[], phase: Phase, windowMs: number): Figures {
  const windowEnd = Math.max(phase.requestAt + windowMs, phase.doneAt + 5000);
  const steady: number[] = [];
  const around: number[] = [];
  const steadyGap = new LongestGap();
  const gap = new LongestGap();
  for (const s of samples) {
    const t = s.appendAt;
    if (t >= phase.steadyFrom && t < phase.requestAt) {
      steady.push(t - s.producedAt);
      steadyGap.write(t);
    }
    // The last write before the request opens the first interval: a stop right at the request counts.
    if (t < phase.requestAt) gap.last = t;
    else if (t < windowEnd) {
      around.push(t - s.producedAt);
      gap.write(t);
    }
  }
  // No write at all after the request: the gap runs to the window's end.
  if (around.length === 0) gap.write(windowEnd);
  return {
    phase,
    gapMs: gap.ms,
    gapAt: gap.at,
    steadyGapMs: steadyGap.ms,
    steady: latency(steady),
    around: latency(around),
    totalMs: phase.doneAt - phase.requestAt,
    windowEnd,
  };
}

class LongestGap {
  ms = 0;
  at = 0;
  last: number | undefined;
  write(t: number): void {
    if (this.last !== undefined && t - this.last > this.ms) {
      this.ms = t - this.last;
      this.at = this.last;
    }
    this.last = t;
  }
}

const ms = (x: number) => (Number.isFinite(x) ? `${Math.round(x)}` : '-');
const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? (a / b).toFixed(2) : '-');

/** The table: one row per rescale, then per direction the ratio live / savepoint. */
export function table(all: readonly Figures[]): string {
  const head =
    `  ${'mode'.padEnd(10)}${'dir'.padEnd(6)}${'gap ms'.padStart(8)}${'(steady)'.padStart(9)}` +
    `${'steady p50/p99 ms'.padStart(20)}` +
    `${'rescale p50/p99 ms'.padStart(20)}${'max ms'.padStart(8)}${'total ms'.padStart(10)}  where the time went`;
  const rows = all.map((f) => {
    const where = Object.entries(f.phase.marks)
      .map(([k, v]) => `${k} +${Math.round(v)}`)
      .join(', ')
      .concat(f.phase.note ? `; ${f.phase.note}` : '');
    return (
      `  ${f.phase.mode.padEnd(10)}${`${f.phase.from}→${f.phase.to}`.padEnd(6)}${ms(f.gapMs).padStart(8)}` +
      `${`(${ms(f.steadyGapMs)})`.padStart(9)}` +
      `${`${ms(f.steady.p50)} / ${ms(f.steady.p99)}`.padStart(20)}${`${ms(f.around.p50)} / ${ms(f.around.p99)}`.padStart(20)}` +
      `${ms(f.around.max).padStart(8)}${ms(f.totalMs).padStart(10)}  ${where}`
    );
  });
  const ratios: string[] = [];
  for (const [from, to] of [
    [2, 3],
    [3, 2],
  ] as const) {
    const l = all.find((f) => f.phase.mode === 'live' && f.phase.from === from && f.phase.to === to);
    const s = all.find((f) => f.phase.mode === 'savepoint' && f.phase.from === from && f.phase.to === to);
    if (!l || !s) continue;
    ratios.push(
      `  ratio live / savepoint ${from}→${to}: gap ${ratio(l.gapMs, s.gapMs)}, rescale p99 ${ratio(l.around.p99, s.around.p99)}, ` +
        `rescale p50 ${ratio(l.around.p50, s.around.p50)}, total ${ratio(l.totalMs, s.totalMs)}; ` +
        `steady p99 live / savepoint ${ratio(l.steady.p99, s.steady.p99)}`,
    );
  }
  const targets = all
    .filter((f) => f.phase.mode === 'live')
    .map(
      (f) =>
        `  target live ${f.phase.from}→${f.phase.to}: gap < 500 ms ${f.gapMs < 500 ? 'met' : 'NOT met'}, ` +
        `p99 < 1 s around the rescale ${f.around.p99 < 1000 ? 'met' : 'NOT met'}`,
    );
  return [head, ...rows, ...ratios, ...targets].join('\n') + '\n';
}

const BIN_MS = 500;

/** Highest latency (s) per 0.5 s of write time, x in s from the phase's steady window start. */
function binned(samples: readonly OutputSample[], f: Figures): [number, number][] {
  const bins = new Map<number, number>();
  for (const s of samples) {
    if (s.appendAt < f.phase.steadyFrom || s.appendAt >= f.windowEnd) continue;
    const b = Math.floor((s.appendAt - f.phase.steadyFrom) / BIN_MS);
    bins.set(b, Math.max(bins.get(b) ?? 0, (s.appendAt - s.producedAt) / 1000));
  }
  const points: [number, number][] = [...bins.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([b, v]) => [(b * BIN_MS) / 1000, v]);
  // The last bin holds to the window's end (a step line ends where its last point is).
  const last = points.at(-1);
  if (last) points.push([(f.windowEnd - f.phase.steadyFrom) / 1000, last[1]]);
  return points;
}

const COLOR: Record<Mode, string> = { live: '#1f77b4', savepoint: '#d62728' };

/** One panel per direction: both modes' latency aligned on their request, the request and each done marked. */
export function plot(
  samples: readonly OutputSample[],
  all: readonly Figures[],
  windowS: number,
  where = 'in one process',
): string {
  const panels: Panel[] = [];
  for (const [from, to] of [
    [2, 3],
    [3, 2],
  ] as const) {
    const fs = all.filter((f) => f.phase.from === from && f.phase.to === to);
    if (fs.length === 0) continue;
    const lines: Series[] = fs.map((f) => ({
      label: `${f.phase.mode}`,
      color: COLOR[f.phase.mode],
      points: binned(samples, f),
    }));
    const top = Math.max(0.1, ...lines.flatMap((l) => l.points.map(([, y]) => y)));
    // A vertical line: the step path goes right to x, then up.
    const vertical = (label: string, color: string, x: number): Series => ({
      label,
      color,
      dashed: true,
      points: [
        [x, 0],
        [x, top],
      ],
    });
    const marks: Series[] = [
      vertical('request', '#555', windowS),
      ...fs.map((f) =>
        vertical(`${f.phase.mode} done`, COLOR[f.phase.mode], (f.phase.doneAt - f.phase.steadyFrom) / 1000),
      ),
    ];
    panels.push({ title: `${from} → ${to} slots: highest latency per 0.5 s (s)`, series: [...lines, ...marks] });
  }
  return lineChart(
    `Live rescale vs savepoint rescale ${where}: end-to-end latency (write − produce)`,
    `seconds from the start of the steady window (the request at ${windowS} s)`,
    panels,
  );
}
