// Exactly-once end to end with the real Kafka broker (TRIBUTARY_KAFKA_BROKERS), in-process:
//   rescale: a keyed windowed job reads a topic that keeps growing and writes another topic
//     exactly-once; p=2 → stop-with-savepoint → p=3 (a savepoint on the way) →
//     stop-with-savepoint → p=1 drains the input. The output read with read_committed equals
//     an uninterrupted reference run (same multiset).
//   crash: the job is killed at random moments (no commit, no abort: producers just vanish
//     with their transactions open) and restarted from the latest completed checkpoint;
//     TRIBUTARY_CHAOS_ROUNDS rounds (default 3). Output equals the reference. Once with the
//     Kafka consumers on their slots' threads (the default), once on fetch threads.
import { mkdtemp, rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestCheckpointPath } from '../../checkpoint/coordinator.ts';
import { createJobExecutor, type JobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { validateGraph } from '../validate-graph.ts';
import { readTopic } from '../../testing/kafka-reader.ts';
import { CollectingSink, type Emitted } from '../../testing/harness.ts';
import { createLogger, silentLogger } from '../../telemetry/logger.ts';
import { createTopics, deleteTopicsContaining, testBrokers } from '../../testing/kafka-topics.ts';
import { withEnv } from '../../testing/env.ts';
import { FETCH_THREAD_ENV } from './fetch-thread.ts';

const { Kafka, logLevel } = kafkajs;

const RECORDS = 24_000;
const CHUNKS = 24;
const BASE = 1_700_000_000_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Writes RECORDS records in CHUNKS, `pauseMs` apart; per partition in event-time order (keyed by k). */
async function writeInput(kafka: KafkaClient, topic: string, pauseMs: number): Promise<void> {
  // Idempotent: a send retried under load must not write input records twice (the reference counts them).
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const per = RECORDS / CHUNKS;
  for (let c = 0; c < CHUNKS; c++) {
    const messages = Array.from({ length: per }, (_, j) => {
      const i = c * per + j;
      const k = `k${i % 40}`;
      return { key: k, value: JSON.stringify({ id: i, k, v: i % 7, ts: BASE + i * 5 }) };
    });
    await producer.send({ topic, messages });
    if (pauseMs > 0) await sleep(pauseMs);
  }
  await producer.disconnect();
}

/** Sorted committed values of `topic` (the reader applies the read_committed fix). */
async function readCommitted(kafka: KafkaClient, topic: string, expected: number): Promise<string[]> {
  const recs = await readTopic(kafka, topic, { expected, timeoutMs: 60_000, settleMs: 2000 });
  if (process.env['EOS_DIAG']) for (const r of recs) console.error(`MSG ${r.partition}@${r.offset} ${r.value}`);
  return recs.map((r) => r.value).sort();
}

describe('exactly-once Kafka sink with checkpoints and savepoints (real Kafka, in-process)', () => {
  const bs = testBrokers();
  const run = randomUUID().slice(0, 8);
  let kafka: KafkaClient;
  const dirs: string[] = [];

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'tributary-eos-it', brokers: bs, logLevel: logLevel.NOTHING });
  });
  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const graph = (input: string, output: string, bounded: boolean): GraphSpec => ({
    sources: [
      {
        name: 'events',
        kafka: {
          brokers: bs,
          topic: input,
          groupId: `it-eos-${run}`,
          ...(bounded ? { bounded: 'latest' as const } : {}),
        },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '500ms' },
      },
    ],
    steps: [
      { name: 'by-k', from: 'events', keyBy: 'k' },
      { name: 'per-2s', from: 'by-k', window: { tumbling: { size: '2s' } } },
      { name: 'totals', from: 'per-2s', aggregate: { n: 'count()', v: 'sum(v)', maxId: 'max(id)' } },
    ],
    sinks: [
      {
        name: 'out',
        from: 'totals',
        kafka: { brokers: bs, topic: output, key: 'k', transactionalIdPrefix: `it-eos-${output}` },
      },
    ],
  });

  async function setupTopics(input: string, output: string): Promise<void> {
    await createTopics(kafka, { [input]: 4, [output]: 3 });
  }

  async function reference(input: string): Promise<string[]> {
    const got: Emitted[] = [];
    const job = await createJobExecutor(validateGraph(graph(input, 'unused', true)), {
      parallelism: 1,
      logger: silentLogger(),
      sinkWriter: () => new CollectingSink(got),
    });
    const r = await job.run();
    expect(r.recordsIn).toBe(RECORDS);
    return got.map((e) => JSON.stringify(e.rec)).sort();
  }

  async function start(
    input: string,
    output: string,
    o: { p: number; stateDir: string; restoreFrom?: string; bounded?: boolean; intervalMs?: number },
  ): Promise<{ job: JobExecutor; done: Promise<unknown> }> {
    const job = await createJobExecutor(validateGraph(graph(input, output, o.bounded ?? false)), {
      parallelism: o.p,
      maxParallelism: 64,
      logger: process.env['EOS_DIAG'] ? createLogger('info') : silentLogger(),
      jobName: 'eos-it',
      checkpointing: { stateDir: o.stateDir, intervalMs: o.intervalMs ?? 400, timeoutMs: 30_000, retained: 2 },
      restoreFrom: o.restoreFrom,
    });
    const done = job.run();
    done.catch(() => undefined);
    return { job, done };
  }

  it('rescale 2 → 3 → 1 with savepoints while input keeps arriving: read_committed output equals the reference', async () => {
    const input = `it-eos-in-${run}`;
    const output = `it-eos-out-${run}`;
    await setupTopics(input, output);
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-eos-'));
    dirs.push(stateDir);
    const writing = writeInput(kafka, input, 150);

    const a = await start(input, output, { p: 2, stateDir });
    await sleep(1500);
    const sp1 = await a.job.triggerSavepoint({ stop: true });
    expect(((await a.done) as { state: string }).state).toBe('STOPPED');

    const b = await start(input, output, { p: 3, stateDir, restoreFrom: sp1.path });
    await sleep(1000);
    await b.job.triggerSavepoint({ stop: false });
    await sleep(500);
    const sp2 = await b.job.triggerSavepoint({ stop: true });
    await b.done;

    await writing;
    const c = await start(input, output, { p: 1, stateDir, restoreFrom: sp2.path, bounded: true });
    expect(((await c.done) as { state: string }).state).toBe('FINISHED');

    const ref = await reference(input);
    expect(ref.length).toBeGreaterThan(100);
    const got = await readCommitted(kafka, output, ref.length);
    expect(got.length).toBe(ref.length);
    expect(got).toEqual(ref);
  }, 180_000);

  async function crashRounds(tag: string): Promise<void> {
    const rounds = Number(process.env['TRIBUTARY_CHAOS_ROUNDS'] ?? 3);
    const input = `it-eos-crash${tag}-in-${run}`;
    const output = `it-eos-crash${tag}-out-${run}`;
    await setupTopics(input, output);
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-eos-crash-'));
    dirs.push(stateDir);
    const writing = writeInput(kafka, input, 100 + rounds * 20);
    let restoreFrom: string | undefined;
    for (let round = 0; round < rounds; round++) {
      const r = await start(input, output, { p: 1 + (round % 3), stateDir, restoreFrom, intervalMs: 300 });
      // The first crash comes after the first completed checkpoint (whatever the machine's speed), so
      // the rounds restore state; later ones at a random moment of their run.
      if (round === 0)
        await expect.poll(() => latestCheckpointPath(stateDir), { timeout: 60_000, interval: 20 }).toBeDefined();
      await sleep((round === 0 ? 0 : 700) + Math.floor(Math.random() * 900));
      r.job.crash();
      await expect(r.done).rejects.toMatchObject({ code: 'TRIB_JOB_FAILED' });
      restoreFrom = (await latestCheckpointPath(stateDir)) ?? restoreFrom;
    }
    expect(restoreFrom).toBeDefined();
    await writing;
    const last = await start(input, output, { p: 2, stateDir, restoreFrom, bounded: true });
    await last.done;
    const ref = await reference(input);
    const got = await readCommitted(kafka, output, ref.length);
    if (got.length !== ref.length) {
      const refSet = new Set(ref);
      const seen = new Map<string, number>();
      for (const g of got) seen.set(g, (seen.get(g) ?? 0) + 1);
      const dups = [...seen].filter(([, n]) => n > 1).length;
      const foreign = got.filter((g) => !refSet.has(g)).slice(0, 5);
      console.error(
        `DIAG dups=${dups} foreign=${got.filter((g) => !refSet.has(g)).length}`,
        foreign,
        [...seen].filter(([, n]) => n > 1).slice(0, 3),
      );
    }
    expect(got.length).toBe(ref.length);
    expect(got).toEqual(ref);
  }

  it('crash at random moments and restart from the latest checkpoint: read_committed output equals the reference', async () => {
    await crashRounds('');
  }, 300_000);

  it('the same with each consumer on a fetch thread of its slot (TRIBUTARY_KAFKA_FETCH_THREAD=on)', async () => {
    await withEnv(FETCH_THREAD_ENV, 'on', () => crashRounds('-fetch-thread'));
  }, 300_000);
});
