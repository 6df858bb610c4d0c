// Against the real local Kafka broker, in-process: a Kafka source whose topic does not exist
// waits (the job runs, reports the topic in its status) and reads once the topic is created;
// partitions added to a running topic are read by the slots that own them (a slot that owned
// none takes one), their offsets are checkpointed like the others, and after a crash and a
// restore at another parallelism the exactly-once output holds every record once (with the
// consumers on the slots' threads, and again on fetch threads).
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
import { createLogger, silentLogger } from '../../telemetry/logger.ts';
import { createTopics, deleteTopicsContaining, testBrokers } from '../../testing/kafka-topics.ts';
import { withEnv } from '../../testing/env.ts';
import { FETCH_THREAD_ENV } from './fetch-thread.ts';

const { Kafka, logLevel } = kafkajs;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function waitUntil(ok: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(200);
  }
}

describe('Kafka source: a missing topic and partitions added while running (real Kafka, in-process)', () => {
  const bs = testBrokers();
  const run = randomUUID().slice(0, 8);
  let kafka: KafkaClient;
  const dirs: string[] = [];

  beforeAll(() => {
    kafka = new Kafka({ clientId: 'tributary-discovery-it', brokers: bs, logLevel: logLevel.NOTHING });
  });
  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const graph = (input: string, output: string, o: { bounded?: boolean } = {}): GraphSpec => ({
    sources: [
      {
        name: 'in',
        kafka: {
          brokers: bs,
          topic: input,
          groupId: `it-disc-${run}`,
          startFrom: 'latest',
          partitionDiscoveryInterval: '1s',
          ...(o.bounded ? { bounded: 'latest' as const } : {}),
          schema: { id: 'double' },
        },
      },
    ],
    sinks: [
      { name: 'out', from: 'in', kafka: { brokers: bs, topic: output, transactionalIdPrefix: `it-disc-${output}` } },
    ],
  });

  async function start(
    input: string,
    output: string,
    o: { p: number; stateDir: string; restoreFrom?: string; bounded?: boolean },
  ): Promise<{ job: JobExecutor; done: Promise<unknown> }> {
    const job = await createJobExecutor(validateGraph(graph(input, output, o)), {
      parallelism: o.p,
      maxParallelism: 16,
      logger: process.env['DISC_DIAG'] ? createLogger('info') : silentLogger(),
      jobName: 'disc-it',
      checkpointing: { stateDir: o.stateDir, intervalMs: 300, timeoutMs: 30_000, retained: 2 },
      restoreFrom: o.restoreFrom,
    });
    const done = job.run();
    done.catch(() => undefined);
    return { job, done };
  }

  async function produce(topic: string, ids: number[], partitions: number): Promise<void> {
    // Idempotent: a send retried after some partitions refused it (new partitions whose leader is not known
    // yet) writes no record twice.
    const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic,
      messages: ids.map((id) => ({ partition: id % partitions, value: JSON.stringify({ id }) })),
    });
    await producer.disconnect();
  }

  const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
  const outputIds = async (topic: string, expected: number) => {
    const recs = await readTopic(kafka, topic, { expected, timeoutMs: 60_000, settleMs: 2000 });
    if (process.env['DISC_DIAG']) {
      const seen = new Map<number, string[]>();
      for (const r of recs) {
        const id = (JSON.parse(r.value) as { id: number }).id;
        seen.set(id, [...(seen.get(id) ?? []), `${r.partition}@${r.offset}`]);
      }
      for (const [id, at] of seen)
        if (at.length > 1) console.error(`DUP ${id} (input partition ${id % 5}) at ${at.join(' ')}`);
    }
    return recs.map((r) => (JSON.parse(r.value) as { id: number }).id).sort((a, b) => a - b);
  };

  it('a missing topic: the job runs and reports it (no failure), then reads the topic once it is created', async () => {
    const input = `it-disc-missing-${run}`;
    const output = `it-disc-missing-out-${run}`;
    await createTopics(kafka, { [output]: 1 });
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-disc-'));
    dirs.push(stateDir);
    const { job, done } = await start(input, output, { p: 2, stateDir });
    await sleep(3000);
    const st = job.status();
    expect(st.state).toBe('RUNNING');
    expect(st.error).toBeUndefined();
    expect(st.waitingForInput).toEqual([{ source: 'in', topic: input, since: expect.any(String) as string }]);
    expect(st.lastCheckpoint).toBeDefined(); // checkpoints go on while it waits

    await createTopics(kafka, { [input]: 3 });
    await produce(input, ids(0, 300), 3);
    // startFrom: latest, but every record of a topic created after the job started is read.
    expect(await outputIds(output, 300)).toEqual(ids(0, 300));
    expect(job.status().waitingForInput).toBeUndefined();
    job.stop();
    await done;
  }, 120_000);

  async function growAndCrash(tag: string): Promise<void> {
    const input = `it-disc-grow${tag}-${run}`;
    const output = `it-disc-grow${tag}-out-${run}`;
    await createTopics(kafka, { [input]: 2, [output]: 2 });
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-disc-'));
    dirs.push(stateDir);
    // p = 3 over 2 partitions: one slot owns none until the topic grows.
    const a = await start(input, output, { p: 3, stateDir });
    await sleep(2500);
    await produce(input, ids(0, 200), 2);
    expect(await outputIds(output, 200)).toEqual(ids(0, 200));

    const admin = kafka.admin();
    await admin.connect();
    await admin.createPartitions({ topicPartitions: [{ topic: input, count: 5 }] });
    await waitUntil(async () => {
      const meta = await admin.fetchTopicMetadata({ topics: [input] });
      return meta.topics[0]?.partitions.filter((p) => p.leader >= 0).length === 5;
    });
    await admin.disconnect();
    await produce(input, ids(200, 500), 5); // every partition, the 3 new ones included
    expect(await outputIds(output, 700)).toEqual(ids(0, 700));
    await produce(input, ids(700, 300), 5);
    await sleep(800);
    a.job.crash();
    await expect(a.done).rejects.toMatchObject({ code: 'TRIB_JOB_FAILED' });

    const restoreFrom = await latestCheckpointPath(stateDir);
    expect(restoreFrom).toBeDefined();
    const b = await start(input, output, { p: 2, stateDir, restoreFrom });
    await produce(input, ids(1000, 200), 5);
    await sleep(2000);
    b.job.crash();
    await expect(b.done).rejects.toMatchObject({ code: 'TRIB_JOB_FAILED' });
    const last = await start(input, output, {
      p: 1,
      stateDir,
      restoreFrom: await latestCheckpointPath(stateDir),
      bounded: true,
    });
    expect(((await last.done) as { state: string }).state).toBe('FINISHED');
    expect(await outputIds(output, 1200)).toEqual(ids(0, 1200));
  }

  it('partitions added while running are read by their owners; exactly once across a crash and a restore at another parallelism', async () => {
    await growAndCrash('');
  }, 180_000);

  it('the same with each consumer on a fetch thread of its slot: a replaced consumer is a replaced thread (TRIBUTARY_KAFKA_FETCH_THREAD=on)', async () => {
    await withEnv(FETCH_THREAD_ENV, 'on', () => growAndCrash('-fetch-thread'));
  }, 180_000);
});
