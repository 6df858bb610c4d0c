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
// Needs the local cluster's Kafka (TRIBUTARY_KAFKA_BROKERS) and a JDK; skipped with a message
// otherwise. Env: BENCH_LIVE_RATE (records/s, default 2000), BENCH_LIVE_KEYS (default 100000),
// BENCH_LIVE_WINDOW_S (default 30), BENCH_LIVE_PLOT=1 writes docs/images/live-rescale-latency.svg,
// BENCH_LIVE_LOG=warn shows the job's log. Run alone: npx node bench/live-rescale.ts
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
import { validateGraph } from '../runtime/src/connectors/validate-graph.ts';
import { createJobExecutor, type JobExecutor } from '../runtime/src/exec/job-executor.ts';
import type { GraphSpec } from '../runtime/src/graph/spec.ts';
import type { ValidatedGraph } from '../runtime/src/graph/validate.ts';
import { createLogger, silentLogger } from '../runtime/src/telemetry/logger.ts';
import { figures, plot, table, type Figures, type Mode, type Phase } from './live-rescale-stats.ts';

const PARTITIONS = 8;
/** Fixed: a savepoint restores only at the maxParallelism it was taken with. */
const MAXP = 128;
const SVG = fileURLToPath(new URL('../docs/images/live-rescale-latency.svg', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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

/** One executor of the job and its run(); `failure` is set once run() rejects. */
interface Running {
  job: JobExecutor;
  done: Promise<unknown>;
  failure?: unknown;
}

class Bench {
  current: Running | undefined;
  private readonly spec: ValidatedGraph;
  private readonly root: string;

  constructor(spec: GraphSpec, root: string) {
    this.spec = validateGraph(spec);
    this.root = root;
  }

  async start(parallelism: number, restoreFrom?: string): Promise<Running> {
    const stateDir = await mkdtemp(join(this.root, `p${parallelism}-`));
    const logLevel = process.env['BENCH_LIVE_LOG'];
    const job = await createJobExecutor(this.spec, {
      parallelism,
      maxParallelism: MAXP,
      logger: logLevel ? createLogger(logLevel) : silentLogger(),
      jobName: 'bench-live-rescale',
      checkpointing: { stateDir, intervalMs: 1000, timeoutMs: 30_000, retained: 2 },
      ...(restoreFrom ? { restoreFrom } : {}),
    });
    const r: Running = { job, done: job.run() };
    r.done.catch((e: unknown) => (r.failure = e));
    this.current = r;
    return r;
  }

  /** Sleeps, failing as soon as the running job failed: figures of a failed job are not figures. */
  async wait(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (this.current?.failure !== undefined)
        throw new TributaryError('TRIB_JOB_FAILED', 'the job failed during the bench', { cause: this.current.failure });
      await sleep(Math.min(200, until - Date.now()));
    }
  }

  /** Stop-with-savepoint, run() ended, restored at `to` and running: the in-process savepoint rescale. */
  async savepointRescale(to: number, marks: Record<string, number>, t0: number): Promise<void> {
    const old = this.current!;
    const sp = await old.job.triggerSavepoint({ stop: true });
    marks['savepoint'] = Date.now() - t0;
    const result = (await old.done) as { state?: string };
    if (result.state !== 'STOPPED')
      throw new TributaryError('TRIB_JOB_FAILED', `stop-with-savepoint ended the job as ${result.state}`);
    marks['stopped'] = Date.now() - t0;
    await this.start(to, sp.path);
    marks['restored'] = Date.now() - t0;
  }

  /** Marks when each phase (joining, moving, draining, done) was first reported; returns what moved. */
  async liveRescale(to: number, marks: Record<string, number>, t0: number): Promise<string> {
    const r = await this.current!.job.rescale(to, {
      onProgress: (p) => {
        marks[p.phase] ??= Date.now() - t0;
      },
    });
    return `${r.stepsDone}/${r.steps} steps, ${r.keyGroupsMoved} key groups, ${(r.bytesMoved / 1e6).toFixed(1)} MB`;
  }
}

export async function liveRescaleBenchmark(): Promise<Figures[] | undefined> {
  const rate = Number(process.env['BENCH_LIVE_RATE'] ?? 2000);
  const keys = Number(process.env['BENCH_LIVE_KEYS'] ?? 100_000);
  const windowS = Number(process.env['BENCH_LIVE_WINDOW_S'] ?? 30);
  const windowMs = windowS * 1000;
  process.stdout.write(
    `\nlive rescale vs savepoint rescale in one process: kafka (${PARTITIONS} partitions) → keyBy user (${keys} keys) → rolling count → kafka (exactly-once), ${rate} records/s, checkpoints every 1 s, window ${windowS} s\n`,
  );
  const brokersEnv = process.env['TRIBUTARY_KAFKA_BROKERS'];
  if (!brokersEnv) {
    process.stdout.write('  skipped: TRIBUTARY_KAFKA_BROKERS is unset (start the local cluster with --with kafka)\n');
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
  const bench = new Bench(graph(brokers, input, output, id), root);
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
        note = await bench.liveRescale(to, marks, requestAt);
        doneAt = Date.now();
      } else {
        const seen = reader.samples.length;
        await bench.savepointRescale(to, marks, requestAt);
        // Done when the restored job writes: run() having started is not yet processing.
        doneAt = await firstWriteFrom(reader, seen, requestAt + marks['restored']!, bench);
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
    const last = bench.current!;
    await last.job.triggerSavepoint({ stop: true });
    await last.done;
    const exact = await checkExactlyOnce(brokers, output, ledger);
    const all = phases.map((p) => figures(reader.samples, p, windowMs));
    report(all, exact, ledger.total, reader.samples.length);
    if (process.env['BENCH_LIVE_PLOT'] === '1') {
      await writeFile(SVG, plot(reader.samples, all, windowS));
      process.stdout.write(`  plot: ${SVG}\n`);
    }
    return all;
  } finally {
    const cur = bench.current;
    if (cur) {
      cur.job.stop();
      await Promise.race([cur.done.catch(() => undefined), sleep(10_000)]);
    }
    await reader.close().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await deleteBenchTopics(kafka, [input, output]);
    await rm(root, { recursive: true, force: true });
  }
}

/** Append time of the first output write at or after `from` (the old job has ended by then: the new job's). */
async function firstWriteFrom(reader: OutputReader, seen: number, from: number, bench: Bench): Promise<number> {
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
