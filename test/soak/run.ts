// `npm run soak [-- --kills N] [--rounds R] [--kills-per-round K] [--records M] [--suites a,b]`: the
// kill chaos suites, again and again, until at least N SIGKILLs (default 1,000) hit running
// processes; then a table of rounds, kills, lost and duplicated records per suite and mode.
// Outside `npm test` (CI runs each suite's short form); it runs against the local cluster the
// integration setup starts or reuses.
//
// Each round of a suite appends what it delivered to a report file (test/harness/soak-report.ts)
// before it asserts, so a failing round is counted, and the soak goes on to the next pass: the
// figure of interest is the rate over many rounds. Exit 1 when any exactly-once round lost or
// duplicated a record, or any round lost or invented one.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SOAK_REPORT_ENV, type SoakRound } from '../harness/soak-report.ts';

/** The suites that SIGKILL real processes and report rounds, by name. */
const SUITES: Readonly<Record<string, { file: string; roundsPerPass: number }>> = {
  'distributed-kill': { file: 'runtime/src/process/kill.chaos.int.test.ts', roundsPerPass: 50 },
  'at-least-once-kill': { file: 'runtime/src/connectors/kafka/at-least-once.chaos.int.test.ts', roundsPerPass: 20 },
  // Live rescales to random parallelisms with the topic gaining partitions between them, one SIGKILL a round.
  'rescale-growth': { file: 'runtime/src/cli/rescale-growth.chaos.int.test.ts', roundsPerPass: 20 },
  // The disk state backend under a capped heap: one round per run (TRIBUTARY_DISK_KILL_* size it).
  'disk-state-kill': { file: 'runtime/src/process/disk-state-kill.chaos.int.test.ts', roundsPerPass: 1 },
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const target = Number(arg('kills') ?? 1000);
// Denser rounds (the distributed-kill suite): up to this many kills per round, over this many input records.
const perRound = arg('kills-per-round');
const records = arg('records');
const roundsOverride = arg('rounds') === undefined ? undefined : Number(arg('rounds'));
const chosen = (arg('suites') ?? Object.keys(SUITES).join(',')).split(',').filter((s) => s in SUITES);
const present = chosen.filter((s) => existsSync(SUITES[s]?.file ?? ''));
if (
  !Number.isInteger(target) ||
  target < 1 ||
  present.length === 0 ||
  (roundsOverride !== undefined && !(Number.isInteger(roundsOverride) && roundsOverride >= 1)) ||
  (perRound !== undefined && !(Number.isInteger(Number(perRound)) && Number(perRound) >= 1)) ||
  (records !== undefined && !(Number.isInteger(Number(records)) && Number(records) >= 4 && Number(records) % 4 === 0))
) {
  process.stderr.write(
    `usage: npm run soak -- [--kills N ≥ 1] [--rounds R ≥ 1 per pass] [--kills-per-round K ≥ 1] [--records M, a multiple of 4] [--suites ${Object.keys(SUITES).join(',')}]\n`,
  );
  process.exit(2);
}
const report = join(mkdtempSync(join(tmpdir(), 'trib-soak-')), 'rounds.jsonl');
const rounds = (): SoakRound[] =>
  existsSync(report)
    ? readFileSync(report, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as SoakRound)
    : [];
const killsSoFar = (): number => rounds().reduce((n, r) => n + r.kills, 0);

const t0 = Date.now();
let pass = 0;
while (killsSoFar() < target) {
  pass++;
  for (const name of present) {
    const suite = SUITES[name] as { file: string; roundsPerPass: number };
    const roundsPerPass = roundsOverride ?? suite.roundsPerPass;
    process.stderr.write(`soak pass ${pass}: ${name} × ${roundsPerPass} rounds (kills so far ${killsSoFar()})\n`);
    const before = rounds().length;
    spawnSync('npx', ['vitest', 'run', '--project', 'integration', suite.file], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        [SOAK_REPORT_ENV]: report,
        TRIBUTARY_CHAOS_ROUNDS: String(roundsPerPass),
        ...(perRound ? { TRIBUTARY_CHAOS_KILLS: perRound } : {}),
        ...(records ? { TRIBUTARY_CHAOS_RECORDS: records } : {}),
      },
    });
    if (rounds().length === before) {
      process.stderr.write(`soak: ${name} reported no round (did its setup fail?); stopping\n`);
      process.exit(1);
    }
    if (killsSoFar() >= target) break;
  }
}

const all = rounds();
const groups = new Map<string, SoakRound[]>();
for (const r of all) {
  const k = `${r.suite}\t${r.mode}\t${r.guarantee}`;
  groups.set(k, [...(groups.get(k) ?? []), r]);
}
const sum = (rs: readonly SoakRound[], f: (r: SoakRound) => number): number => rs.reduce((n, r) => n + f(r), 0);
const lines = [
  '| suite | mode | guarantee | rounds | kills | records expected | lost | duplicated | invented |',
  '|---|---|---|---:|---:|---:|---:|---:|---:|',
];
let broken = false;
for (const [k, rs] of [...groups].sort()) {
  const [suite, mode, guarantee] = k.split('\t');
  const lost = sum(rs, (r) => r.missing);
  const invented = sum(rs, (r) => r.unexpected);
  const dup = sum(rs, (r) => r.duplicated);
  if (lost > 0 || invented > 0 || (guarantee === 'exactly-once' && dup > 0)) broken = true;
  lines.push(
    `| ${suite} | ${mode} | ${guarantee} | ${rs.length} | ${sum(rs, (r) => r.kills)} | ${sum(rs, (r) => r.expected)} | ${lost} | ${dup} | ${invented} |`,
  );
}
lines.push(
  `| all | | | ${all.length} | ${sum(all, (r) => r.kills)} | ${sum(all, (r) => r.expected)} | ${sum(all, (r) => r.missing)} | ${sum(all, (r) => r.duplicated)} | ${sum(all, (r) => r.unexpected)} |`,
);
process.stdout.write(`${lines.join('\n')}\n\n${((Date.now() - t0) / 60_000).toFixed(1)} min; rounds in ${report}\n`);
process.exit(broken ? 1 : 0);
