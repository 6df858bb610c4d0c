// Live rescale against the savepoint rescale, both in one process (one JobExecutor runs every
// slot, as `tributary run --single-thread`), in the same run, with the same input and state:
//
//   kafka in (8 partitions, produce time in each record) → keyBy user (100k keys, every key in the
//   state before anything is measured) → rolling count per key → kafka out (exactly-once)
//
// checkpointing every second. Four rescales in ABBA order, so drift of a shared machine's load
// over the run weighs on both modes alike: live 2→3, savepoint 3→2, savepoint 2→3, live 3→2.
// live = `job.rescale(to)` on the running job; savepoint = stop-with-savepoint, wait for run() to
// end, createJobExecutor at the new parallelism restoring the savepoint, run it (what a savepoint
// rescale does, minus pods).
//
// Per rescale: the longest gap between output writes from the request to the end of the window
// (request + BENCH_LIVE_WINDOW_S, at least done + 5 s); latency (write time − produce time) p50/p99
// in the window before the request (steady) and in that window (around); request → done. Write
// time is the output topic's LogAppendTime; the reader is read_uncommitted, so an exactly-once
// sink's records count when written, not when a checkpoint commits them (the sink is exactly-once
// so that the committed output can be checked: Kafka's Java read_committed consumer must find every
// key's running counts 1..n exactly once, n its input records — otherwise the bench fails).
//
// BENCH_LIVE_HOST picks where the slots run (a comma-separated list, or all; default process):
// process = one JobExecutor as above; threads / distributed = `tributary run --threads` /
// `--distributed` as a child process, driven through its control API as a user does
// (live-rescale-cli.ts: POST /v1/migrations; the savepoint rescale = POST /v1/savepoints {stop},
// the run exits, a new run at the new parallelism with --restore). Each host gets its own topics,
// its own four rescales and its own exactly-once check. pods / containers = slot pods of a
// StreamJob on the local cluster, run by the node agent as processes / in containers (podman +
// runc, the image built from this checkout), rescaled through the operator (live-rescale-pods.ts:
// `spec.replicas` with `rescale.mode` live or savepoint; a silent fallback fails the bench); they
// also need the cluster's S3 server, and BENCH_ONLY=rescale runs both.
//
// Needs the local cluster's Kafka (TRIBUTARY_KAFKA_BROKERS) and a JDK; skipped with a message
// otherwise. Env: BENCH_LIVE_RATE (records/s, default 2000), BENCH_LIVE_KEYS (default 100000),
// BENCH_LIVE_WINDOW_S (default 30), BENCH_LIVE_PLOT=1 writes docs/images/live-rescale-latency.svg
// (-threads.svg, -distributed.svg, -pods.svg, -containers.svg for those hosts), BENCH_LIVE_LOG=warn
// shows the job's log (any value: the CLI run's whole log; not the pods'),
// BENCH_LIVE_STATE_BACKEND=disk keeps keyed state in the disk backend (process, threads and distributed hosts). Run
// alone: npx node bench/live-rescale.ts
import {
  benchKafka,
  checkExactlyOnce,
  connectedProducer,
  createBenchTopics,
  deleteBenchTopics,
  InputLedger,
  outputReader,
  preload,
  steadyInput,
  type Exactness,
  type OutputReader,
} from './live-rescale-io.ts';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TributaryError } from '../runtime/src/errors.ts';
import type { GraphSpec } from '../runtime/src/graph/spec.ts';
import { CliHost } from './live-rescale-cli.ts';
import { InProcessHost, type RescaleHost } from './live-rescale-host.ts';
import { PodHost, podHostUnavailable } from './live-rescale-pods.ts';
import { figures, plot, table, type Figures, type Mode, type Phase } from './live-rescale-stats.ts';

const PARTITIONS = 8;
/** Local runs (BENCH_LIVE_HOST=all), then slot pods of a StreamJob (live-rescale-pods.ts). */
const LOCAL_HOSTS = ['process', 'threads', 'distributed'] as const;
const HOSTS = [...LOCAL_HOSTS, 'pods', 'containers'] as const;
type HostKind = (typeof HOSTS)[number];
const TITLE: Record<HostKind, string> = {
  process: 'in one process',
  threads: 'with slots on threads (tributary run --threads)',
  distributed: 'with slots in processes (tributary run --distributed)',
  pods: 'with slot pods as processes (StreamJob, operator)',
  containers: 'with slot pods in containers (StreamJob, operator)',
};
const svg = (host: HostKind): string =>
  fileURLToPath(
    new URL(`../docs/images/live-rescale-latency${host === 'process' ? '' : `-${host}`}.svg`, import.meta.url),
  );

/** BENCH_LIVE_HOST: process (default), threads, distributed, pods, containers, a comma-separated list, all (local). */
export function hostsFromEnv(value: string | undefined): HostKind[] {
  if (value === undefined || value === '') return ['process'];
  if (value === 'all') return [...LOCAL_HOSTS];
  return value.split(',').map((v) => {
    const h = v.trim();
    if (!(HOSTS as readonly string[]).includes(h))
      throw new TributaryError('TRIB_CLI_USAGE', `${JSON.stringify(h)} is not one of ${HOSTS.join(', ')}, all`);
    return h as HostKind;
  });
}

function graph(brokers: string[], input: string, output: string, id: string): GraphSpec {
  return {
    sources: [
      {
        name: 'in',
        kafka: {
          brokers,
          topic: input,
          groupId: `bench-live-${id}`,
          startFrom: 'earliest',
          schema: { user: 'string', ts: 'double' },
        },
      },
    ],
    steps: [
      { name: 'by-user', from: 'in', keyBy: 'user' },
      // max(ts): a key's records are produced in order, so it is the produce time of the record counted last.
      { name: 'counts', from: 'by-user', aggregate: { n: 'count()', ts: 'max(ts)' } },
    ],
    sinks: [
      {
        name: 'out',
        from: 'counts',
        kafka: {
          brokers,
          topic: output,
          key: 'user',
          delivery: 'exactly-once',
          transactionalIdPrefix: `bench-live-${id}`,
        },
      },
    ],
  };
}

/** Each host in turn (default: what BENCH_LIVE_HOST selects), each on its own topics; the figures of all of them. */
export async function liveRescaleBenchmark(
  hosts = hostsFromEnv(process.env['BENCH_LIVE_HOST']),
): Promise<Figures[] | undefined> {
  const all: Figures[] = [];
  for (const host of hosts) {
    const got = await liveRescaleOn(host);
    if (!got) return undefined;
    all.push(...got);
  }
  return all;
}

async function liveRescaleOn(host: HostKind): Promise<Figures[] | undefined> {
  const rate = Number(process.env['BENCH_LIVE_RATE'] ?? 2000);
  const keys = Number(process.env['BENCH_LIVE_KEYS'] ?? 100_000);
  const windowS = Number(process.env['BENCH_LIVE_WINDOW_S'] ?? 30);
  const windowMs = windowS * 1000;
  process.stdout.write(
    `\nlive rescale vs savepoint rescale ${TITLE[host]}: kafka (${PARTITIONS} partitions) → keyBy user (${keys} keys) → rolling count → kafka (exactly-once), ${rate} records/s, checkpoints every 1 s, window ${windowS} s\n`,
  );
  const brokersEnv = process.env['TRIBUTARY_KAFKA_BROKERS'];
  if (!brokersEnv) {
    process.stdout.write('  skipped: TRIBUTARY_KAFKA_BROKERS is unset (start the local cluster with --with kafka)\n');
    return undefined;
  }
  const unavailable = host === 'pods' || host === 'containers' ? await podHostUnavailable() : undefined;
  if (unavailable) {
    process.stdout.write(`  skipped: ${unavailable}\n`);
    return undefined;
  }
  const brokers = brokersEnv.split(',');
  const id = randomUUID().slice(0, 8);
  const input = `bench-live-in-${id}`;
  const output = `bench-live-out-${id}`;
  const kafka = benchKafka(brokers);
  const root = await mkdtemp(join(tmpdir(), 'bench-live-rescale-'));
  await createBenchTopics(kafka, input, output, PARTITIONS);
  const producer = await connectedProducer(kafka);
  const reader = await outputReader(kafka, output);
  const spec = graph(brokers, input, output, id);
  const bench: RescaleHost =
    host === 'process'
      ? new InProcessHost(spec, root)
      : host === 'pods' || host === 'containers'
        ? await PodHost.create(host === 'pods' ? 'process' : 'container', spec)
        : await CliHost.create(host, spec, root);
  const ledger = new InputLedger(keys);
  try {
    await bench.start(2);
    // ABBA: a drift of the machine's load over the run weighs on both modes alike.
    const schedule: [Mode, number, number][] = [
      ['live', 2, 3],
      ['savepoint', 3, 2],
      ['savepoint', 2, 3],
      ['live', 3, 2],
    ];
    await preload(producer, input, ledger);
    const loaded = Date.now();
    while (reader.samples.length < keys) await bench.wait(250);
    process.stdout.write(
      `  ${keys} keys in the state ${((Date.now() - loaded) / 1000).toFixed(1)} s after the preload\n`,
    );
    const steady = steadyInput(producer, input, rate, ledger);
    await bench.wait(5000);

    const phases: Phase[] = [];
    for (const [mode, from, to] of schedule) {
      const steadyFrom = Date.now();
      await bench.wait(windowMs);
      const marks: Record<string, number> = {};
      const requestAt = Date.now();
      let doneAt: number;
      let note = '';
      if (mode === 'live') {
        ({ doneAt, note } = await bench.liveRescale(to, marks, requestAt));
      } else {
        const seen = reader.samples.length;
        const newFrom = await bench.savepointRescale(to, marks, requestAt);
        // Done when the restored job writes: having started is not yet processing.
        doneAt = await firstWriteFrom(reader, seen, newFrom, bench);
      }
      phases.push({ mode, from, to, steadyFrom, requestAt, doneAt, marks, note });
      process.stdout.write(`  ${mode} ${from}→${to}: done in ${doneAt - requestAt} ms\n`);
      // The window after the request, plus a second for its last writes to reach the reader.
      await bench.wait(Math.max(requestAt + windowMs, doneAt + 5000) + 1000 - Date.now());
    }
    await steady.stop();

    // Every input record is one output record (a running count per record): wait for all of them.
    const drainUntil = Date.now() + 120_000;
    while (reader.samples.length < ledger.total && Date.now() < drainUntil) await bench.wait(250);
    await bench.finish();
    const exact = await checkExactlyOnce(brokers, output, ledger);
    const all = phases.map((p) => figures(reader.samples, p, windowMs));
    report(all, exact, ledger.total, reader.samples.length);
    if (process.env['BENCH_LIVE_PLOT'] === '1') {
      await writeFile(svg(host), plot(reader.samples, all, windowS, TITLE[host]));
      process.stdout.write(`  plot: ${svg(host)}\n`);
    }
    return all;
  } finally {
    await bench.close();
    await reader.close().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await deleteBenchTopics(kafka, [input, output]);
    await rm(root, { recursive: true, force: true });
  }
}

/** Append time of the first output write at or after `from` (the old job has ended by then: the new job's). */
async function firstWriteFrom(reader: OutputReader, seen: number, from: number, bench: RescaleHost): Promise<number> {
  const until = Date.now() + 120_000;
  for (let i = seen; Date.now() < until; await bench.wait(20))
    for (; i < reader.samples.length; i++) if (reader.samples[i]!.appendAt >= from) return reader.samples[i]!.appendAt;
  throw new TributaryError('TRIB_JOB_FAILED', 'the restored job wrote nothing for 120 s');
}

/** The table, or — for a run whose committed output is not exactly the input — a failure. */
function report(all: Figures[], exact: Exactness, inputRecords: number, uncommittedRead: number): void {
  const wrong = exact.missing + exact.duplicated + exact.unexpected > 0 || exact.records !== inputRecords;
  process.stdout.write(
    `  committed output (Java read_committed): ${exact.records} records for ${inputRecords} input records: ` +
      `${exact.missing} lost, ${exact.duplicated} duplicated, ${exact.unexpected} unexpected; ` +
      `read_uncommitted reader saw ${uncommittedRead}\n`,
  );
  if (wrong) {
    process.stdout.write(`  WRONG RUN: figures below are not to be quoted\n${table(all)}`);
    throw new TributaryError(
      'TRIB_INVARIANT',
      `live-rescale bench: output is not exactly-once (e.g. ${exact.examples.join(', ')})`,
    );
  }
  process.stdout.write(table(all));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await liveRescaleBenchmark();
  setTimeout(() => process.exit(0), 500).unref();
}
