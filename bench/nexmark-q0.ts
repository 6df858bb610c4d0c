// Nexmark q0 (pass-through) and q1 (currency conversion, a map reading every field) from Kafka
// to Kafka at -p 1 on the local cluster's Kafka (TRIBUTARY_KAFKA_BROKERS). Loads Q0_RECORDS
// Nexmark bids (default 500,000) as JSON into a 4-partition topic once, then runs `tributary
// run` on the q0 and q1 graphs, alternating between checkouts given as Q0_CHECKOUTS
// (comma-separated repository roots, default this one) round by round, so a before/after
// comparison shares the machine's conditions. Per run: records/s (wall) and records per
// CPU-second (user+sys of the whole process, from /usr/bin/time). Q0_CPU_PROF=dir adds
// --cpu-prof (profiles summarised by bench/cpuprofile-summary.ts).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { NexmarkGenerator } from '../runtime/src/connectors/datagen/nexmark.ts';
import { RecordRandom } from '../runtime/src/connectors/datagen/random.ts';
import { TributaryError } from '../runtime/src/errors.ts';

const brokers = process.env['TRIBUTARY_KAFKA_BROKERS'] ?? '127.0.0.1:19092';
const records = Number(process.env['Q0_RECORDS'] ?? 500_000);
const rounds = Number(process.env['Q0_ROUNDS'] ?? 3);
const checkouts = (process.env['Q0_CHECKOUTS'] ?? resolve(import.meta.dirname, '..')).split(',');
const queries = (process.env['Q0_QUERIES'] ?? 'q0,q1').split(',');
const prof = process.env['Q0_CPU_PROF'];
const topic = `nexmark-bids-${records}`;
const dir = join(tmpdir(), 'tributary-nexmark-q0');

async function load(): Promise<void> {
  const kafka = new Kafka({ brokers: brokers.split(','), clientId: 'nexmark-q0-load', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const existing = await admin.listTopics();
  if (existing.includes(topic)) {
    const offs = await admin.fetchTopicOffsets(topic);
    const n = offs.reduce((s, o) => s + Number(o.high) - Number(o.low), 0);
    await admin.disconnect();
    if (n === records) return;
    throw new TributaryError('TRIB_INVARIANT', `topic ${topic} holds ${n} records, not ${records}: delete it`);
  }
  await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  const gen = new NexmarkGenerator(['bid']);
  const rnd = new RecordRandom();
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < records;) {
    const messages = [];
    for (let j = 0; j < 5000 && i < records; j++, i++) {
      rnd.reset(7, i);
      const rec = gen.generate(i, t0 + i, rnd);
      messages.push({ key: String(rec['auction']), value: JSON.stringify(rec), partition: i % 4 });
    }
    await producer.send({ topic, messages, acks: -1 });
  }
  await producer.disconnect();
}

function graph(query: string, out: string): string {
  const source = `sources:\n  - name: bids\n    kafka: { brokers: "${brokers}", topic: ${topic}, bounded: latest, groupId: ${out} }\n`;
  const step =
    query === 'q1'
      ? `steps:\n  - name: dollars\n    from: bids\n    map: { event_type: event_type, ts: ts, auction: auction, bidder: bidder, price: price * 0.908, channel: channel, url: url }\n`
      : '';
  const from = query === 'q1' ? 'dollars' : 'bids';
  return `${source}${step}sinks:\n  - name: out\n    from: ${from}\n    kafka: { brokers: "${brokers}", topic: ${out} }\n`;
}

interface Run {
  checkout: string;
  query: string;
  wallS: number;
  cpuS: number;
}

function runOnce(checkout: string, query: string, round: number): Run {
  const out = `${query}-out-${process.pid}-${round}-${checkouts.indexOf(checkout)}`;
  const file = join(dir, `${out}.yaml`);
  writeFileSync(file, graph(query, out));
  const timeFile = join(dir, `${out}.time`);
  const nodeArgs = prof ? ['--cpu-prof', `--cpu-prof-dir=${resolve(prof)}`, `--cpu-prof-name=${out}.cpuprofile`] : [];
  const t0 = performance.now();
  const r = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      '%U %S',
      '-o',
      timeFile,
      process.execPath,
      ...nodeArgs,
      join(checkout, 'runtime/src/cli/main.ts'),
      'run',
      file,
      '--no-progress',
      '--log-level',
      'warn',
    ],
    { cwd: checkout, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const wallS = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new TributaryError('TRIB_JOB_FAILED', `${query} in ${checkout} exited ${r.status}`);
  const [u, s] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  return { checkout, query, wallS, cpuS: (u ?? 0) + (s ?? 0) };
}

async function main(): Promise<void> {
  mkdirSync(dir, { recursive: true });
  if (prof) mkdirSync(prof, { recursive: true });
  await load();
  const runs: Run[] = [];
  for (let r = 0; r < rounds; r++)
    for (const q of queries)
      for (const c of checkouts) {
        const run = runOnce(c, q, r);
        runs.push(run);
        process.stdout.write(
          `${q} ${c}: ${(records / run.wallS).toFixed(0)} rec/s wall, ${(records / run.cpuS).toFixed(0)} rec/CPU-s (${run.wallS.toFixed(1)} s wall, ${run.cpuS.toFixed(1)} s CPU)\n`,
        );
      }
  for (const q of queries) {
    // Best of the rounds, each figure on its own: the fastest wall time and the least CPU.
    const best = checkouts.map((c) => {
      const mine = runs.filter((x) => x.query === q && x.checkout === c);
      return {
        checkout: c,
        wallS: Math.min(...mine.map((x) => x.wallS)),
        cpuS: Math.min(...mine.map((x) => x.cpuS)),
      };
    });
    const base = best[0] as { wallS: number; cpuS: number };
    for (const b of best)
      process.stdout.write(
        `${q} best ${b.checkout}: ${(records / b.wallS).toFixed(0)} rec/s, ${(records / b.cpuS).toFixed(0)} rec/CPU-s; ratio to first: ${(base.wallS / b.wallS).toFixed(2)}× rec/s, ${(base.cpuS / b.cpuS).toFixed(2)}× rec/CPU-s\n`,
      );
  }
}

await main();
