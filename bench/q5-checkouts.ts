// q5 (threads.ts's job: nexmark datagen → bids → keyBy auction → sliding 10 s / 2 s count) at
// `-p 1` and `-p 2 --threads`, alternating between checkouts round by round so a before/after
// comparison shares the machine's conditions. Each checkout runs its own CLI (the node binary
// and dependencies are this one's). Per run: records/s between the last slot's "job running"
// and "job finished", and records per CPU-second of the whole process (/usr/bin/time). Then,
// per mode, the median over rounds of each checkout's figure ÷ the first checkout's.
// Env: Q5_CHECKOUTS (comma-separated repository roots; default this one), Q5_ROUNDS (default 4),
// Q5_EVENTS (default 2,000,000).
//   Q5_CHECKOUTS=/path/before,/path/after node bench/q5-checkouts.ts
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { q5, resultOf, runCli, type Mode, type Result } from './threads.ts';

const checkouts = (process.env['Q5_CHECKOUTS'] ?? resolve(import.meta.dirname, '..')).split(',');
const rounds = Number(process.env['Q5_ROUNDS'] ?? 4);
const events = Number(process.env['Q5_EVENTS'] ?? 2_000_000);
const modes: Mode[] = [
  { name: '-p 1', args: ['-p', '1'] },
  { name: '-p 2 --threads', args: ['-p', '2', '--threads'] },
];
const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const dir = mkdtempSync(join(tmpdir(), 'bench-q5-checkouts-'));
try {
  const file = join(dir, 'q5.json');
  writeFileSync(file, JSON.stringify(q5(events)));
  // results[mode][checkout][round]
  const results = modes.map(() => checkouts.map((): Result[] => []));
  for (let r = 0; r < rounds; r++)
    for (const [m, mode] of modes.entries())
      for (const [c, cwd] of checkouts.entries()) {
        const run = await runCli(file, mode, join(dir, `state-${randomUUID()}`), cwd);
        const res = resultOf(events, [run]);
        results[m]?.[c]?.push(res);
        process.stdout.write(
          `round ${r + 1} ${mode.name.padEnd(15)} ${cwd.padEnd(28)} ${fmt.format(res.recordsPerS).padStart(9)} rec/s ${fmt.format(res.perCpuS).padStart(9)} rec/CPU-s\n`,
        );
      }
  process.stdout.write(
    `\nq5, ${fmt.format(events)} events, ${rounds} alternating rounds: median of each round's ratio to ${checkouts[0]}\n`,
  );
  for (const [m, mode] of modes.entries())
    for (let c = 1; c < checkouts.length; c++) {
      const base = results[m]?.[0] as Result[];
      const mine = results[m]?.[c] as Result[];
      const ratio = (f: (x: Result) => number): string =>
        median(mine.map((x, i) => f(x) / f(base[i] as Result))).toFixed(2);
      process.stdout.write(
        `  ${mode.name.padEnd(15)} ${checkouts[c]}: records/s ×${ratio((x) => x.recordsPerS)}, records per CPU-second ×${ratio((x) => x.perCpuS)}\n`,
      );
    }
  // -p 2 ÷ -p 1 of each checkout, median over rounds.
  for (const [c, cwd] of checkouts.entries()) {
    const p1 = results[0]?.[c] as Result[];
    const p2 = results[1]?.[c] as Result[];
    const ratio = median(p2.map((x, i) => x.recordsPerS / (p1[i] as Result).recordsPerS));
    process.stdout.write(`  ${cwd}: -p 2 --threads ÷ -p 1, records/s ×${ratio.toFixed(2)}\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
