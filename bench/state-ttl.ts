// A dedupe's `ttl` over 24 h of event time (`BENCH_ONLY=state-ttl npm run bench`; standalone: node
// bench/state-ttl.ts): the same stream through a keep-first dedupe (no `within`) without a ttl
// and with `ttl: 1h`, the operator driven directly (no job, no cluster), on the heap backend and,
// unless BENCH_TTL_DISK=0, the disk backend too.
//
// The stream: BENCH_TTL_RATE records per second of event time (default 20), for BENCH_TTL_HOURS
// (default 24); a share of them (40 %) with a new key, the others repeating the key of the record
// a gap earlier, the gap log-uniform between 1 min and 12 h (about 62 % of repeats within 1 h).
// The TTL is processing time: the bench replays the 24 h as if in real time, the operator's clock
// reading the watermark, which follows the records (a batch of 64, then a watermark at its last).
//
// It records the keys each remembers every 15 min of event time (plotted into
// docs/images/state-ttl.svg, the ttl runs again on their own scale), and checks what the two
// promise alike (testing/dedupe-ttl-run.ts): every record the TTL dedupe drops the plain one drops
// too, and both decide alike a key's first record and every record of the key decided less than
// the ttl after it. A broken promise fails the bench.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TributaryError } from '../runtime/src/errors.ts';
import { DiskStore } from '../runtime/src/state/disk-store.ts';
import { checkTtlPromise, dedupeStream, runDedupe, type DedupeRun } from '../runtime/src/testing/dedupe-ttl-run.ts';
import { lineChart, type Series } from './svg-plot.ts';

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const HOUR = 3_600_000;
const TTL = HOUR;

interface Labelled {
  label: string;
  color: string;
  dashed: boolean;
  run: DedupeRun;
}

function line(l: Labelled, records: number): string {
  const r = l.run;
  const kept = r.samples.map(([, k]) => k);
  const passed = r.passed.reduce((n, p) => n + p, 0);
  return (
    `  ${l.label.padEnd(22)} keys at the end ${fmt.format(kept[kept.length - 1] ?? 0).padStart(10)}` +
    `  max ${fmt.format(Math.max(...kept)).padStart(10)}  passed ${fmt.format(passed).padStart(10)}` +
    `  expired ${fmt.format(r.expired).padStart(10)}  snapshot ${(r.snapshotBytes / 1e6).toFixed(1).padStart(6)} MB` +
    `  ${fmt.format((records / r.wallMs) * 1000).padStart(8)} records/s\n`
  );
}

function plot(runs: Labelled[], rate: number, hours: number): void {
  const series: Series[] = runs.map((l) => ({
    label: l.label,
    color: l.color,
    dashed: l.dashed,
    points: l.run.samples.map(([t, k]) => [t / HOUR, k / 1000] as const),
  }));
  const svg = lineChart(
    `Keep-first dedupe with and without ttl 1h: ${rate} records/s, ${hours} h of event time`,
    'event time (h)',
    [
      { title: 'keys remembered (thousands)', series },
      {
        title: 'keys remembered with ttl 1h (thousands): the same, on its own scale',
        series: series.filter((x) => x.label.startsWith('ttl')),
      },
    ],
  );
  const figure = join(import.meta.dirname, '../docs/images/state-ttl.svg');
  writeFileSync(figure, `<!-- Written by bench/state-ttl.ts: BENCH_ONLY=state-ttl npm run bench -->\n${svg}`);
  process.stdout.write(`\nwrote ${figure}\n`);
}

export function stateTtlBenchmark(): void {
  const rate = Number(process.env['BENCH_TTL_RATE'] ?? 20);
  const hours = Number(process.env['BENCH_TTL_HOURS'] ?? 24);
  const disk = process.env['BENCH_TTL_DISK'] !== '0';
  const records = Math.round(rate * hours * 3600);
  const s = dedupeStream({
    records,
    stepMs: 1000 / rate,
    newKeyShare: 0.4,
    gapMinMs: 60_000,
    gapMaxMs: 12 * HOUR,
    seed: 2024,
  });
  process.stdout.write(
    `\n# Dedupe ttl: keep-first dedupe with and without ttl 1h, ${fmt.format(records)} records ` +
      `(${rate}/s for ${hours} h of event time, clock = watermark)\n`,
  );
  const o = { batch: 64, sampleEveryMs: HOUR / 4 };
  const runs: Labelled[] = [
    { label: 'no ttl (heap)', color: '#d62728', dashed: false, run: runDedupe(s, { ...o, ttlMs: undefined }) },
    { label: 'ttl 1h (heap)', color: '#1f77b4', dashed: false, run: runDedupe(s, { ...o, ttlMs: TTL }) },
  ];
  if (disk) {
    // Its default cache (a share of the heap): the store removes its files when the run closes it.
    const stateStore = () => new DiskStore(join(tmpdir(), 'tributary-bench-state-ttl'));
    runs.push(
      {
        label: 'no ttl (disk)',
        color: '#ff9896',
        dashed: true,
        run: runDedupe(s, { ...o, ttlMs: undefined, stateStore }),
      },
      { label: 'ttl 1h (disk)', color: '#aec7e8', dashed: true, run: runDedupe(s, { ...o, ttlMs: TTL, stateStore }) },
    );
  }
  for (const l of runs) process.stdout.write(line(l, records));
  let broken = false;
  for (const [plain, ttl] of disk ? [[0, 1] as const, [2, 3] as const] : [[0, 1] as const]) {
    const c = checkTtlPromise(s, (runs[plain] as Labelled).run, (runs[ttl] as Labelled).run, TTL);
    process.stdout.write(
      `  ${(runs[ttl] as Labelled).label}: dropped only with ttl ${c.droppedOnlyWithTtl}; ` +
        `promised alike ${fmt.format(c.promised)}, of which decided differently ${c.promisedDiffering}; ` +
        `passed only with ttl ${fmt.format(c.passedOnlyWithTtl)} (previous record of the key < 1 h earlier: ` +
        `${fmt.format(c.passedOnlyWithTtlRecentRepeat)})\n`,
    );
    broken ||= c.droppedOnlyWithTtl > 0 || c.promisedDiffering > 0;
  }
  if (disk) {
    const same = (runs[0] as Labelled).run.passed.every((p, i) => p === (runs[2] as Labelled).run.passed[i]);
    const sameTtl = (runs[1] as Labelled).run.passed.every((p, i) => p === (runs[3] as Labelled).run.passed[i]);
    process.stdout.write(`  disk backend's outputs equal the heap's: no ttl ${same}, ttl 1h ${sameTtl}\n`);
    broken ||= !same || !sameTtl;
  }
  if (process.env['BENCH_TTL_PLOT'] !== '0') plot(runs, rate, hours);
  if (broken) throw new TributaryError('TRIB_INVARIANT', 'state-ttl: the ttl dedupe broke its promise (above)');
}

if (import.meta.url === `file://${process.argv[1]}`) stateTtlBenchmark();
