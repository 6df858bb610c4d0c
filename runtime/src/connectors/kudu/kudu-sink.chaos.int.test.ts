// The kudu sink under crashes, with the real Kafka and the real Kudu: a keyed windowed job reads a
// topic and upserts its window results into a Kudu table; it is crashed at
// random moments (in-process: job.crash(), slots vanish without flushing or closing) and
// restarted from the latest completed checkpoint at another parallelism, then drains the input.
// The table must equal an uninterrupted reference run exactly (rows and values):
// TRIBUTARY_CHAOS_ROUNDS rounds (default 3).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestCheckpointPath } from '../../checkpoint/coordinator.ts';
import { createJobExecutor, type JobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { CollectingSink, type Emitted } from '../../testing/harness.ts';
import { createTopics, deleteTopicsContaining, testBrokers } from '../../testing/kafka-topics.ts';
import { validateGraph } from '../validate-graph.ts';
import type { ColumnSpec } from './client/schema.ts';
import { KuduClient } from './client/kudu-client.ts';
import type { ScannedRow } from './client/tablet-scanner.ts';
import { testKuduMasters } from '../../testing/kudu-masters.ts';

const { Kafka, logLevel } = kafkajs;
const RECORDS = 12_000;
const CHUNKS = 24;
const BASE = 1_700_000_000_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('kudu sink under crashes (real Kafka, real Kudu, in-process)', () => {
  const bs = testBrokers();
  const run = randomUUID().slice(0, 8);
  const input = `it-kudu-in-${run}`;
  const tableName = `it_kudu_chaos_${run}`;
  const kudu = new KuduClient({ masters: [testKuduMasters()] });
  let kafka: KafkaClient;
  const dirs: string[] = [];

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'tributary-kudu-it', brokers: bs, logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [input]: 4 });
    // On a just-started broker the group coordinator may not be ready yet ("not the correct
    // coordinator"); the admin client retries until it answers for the job's group.
    const admin = kafka.admin();
    await admin.connect();
    await admin.describeGroups([`it-kudu-${run}`]);
    await admin.disconnect();
  });
  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
    await kudu.deleteTable(tableName).catch(() => undefined);
    await kudu.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function writeInput(pauseMs: number): Promise<void> {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const per = RECORDS / CHUNKS;
    for (let c = 0; c < CHUNKS; c++) {
      const messages = Array.from({ length: per }, (_, j) => {
        const i = c * per + j;
        const k = `k${i % 40}`;
        return { key: k, value: JSON.stringify({ id: i, k, v: i % 7, ts: BASE + i * 5 }) };
      });
      await producer.send({ topic: input, messages });
      if (pauseMs > 0) await sleep(pauseMs);
    }
    await producer.disconnect();
  }

  const graph = (bounded: boolean, sink: GraphSpec['sinks'][number]['kudu']): GraphSpec => ({
    sources: [
      {
        name: 'events',
        kafka: {
          brokers: bs,
          topic: input,
          groupId: `it-kudu-${run}`,
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
    sinks: [sink ? { name: 'out', from: 'totals', kudu: sink } : { name: 'out', from: 'totals', console: {} }],
  });

  async function start(o: { p: number; stateDir: string; restoreFrom?: string; bounded?: boolean }): Promise<{
    job: JobExecutor;
    done: Promise<unknown>;
  }> {
    const job = await createJobExecutor(
      validateGraph(graph(o.bounded ?? false, { masters: testKuduMasters(), table: tableName, batchSize: 50 })),
      {
        parallelism: o.p,
        maxParallelism: 64,
        logger: silentLogger(),
        jobName: 'kudu-it',
        checkpointing: { stateDir: o.stateDir, intervalMs: 300, timeoutMs: 30_000, retained: 2 },
        restoreFrom: o.restoreFrom,
      },
    );
    const done = job.run();
    done.catch(() => undefined);
    return { job, done };
  }

  it('crash at random moments and restart from the latest checkpoint: the table equals the reference', async () => {
    const rounds = Number(process.env['TRIBUTARY_CHAOS_ROUNDS'] ?? 3);
    await writeInput(0);
    // The reference: the same graph, uninterrupted, into memory.
    const got: Emitted[] = [];
    const refJob = await createJobExecutor(validateGraph(graph(true, undefined)), {
      parallelism: 1,
      logger: silentLogger(),
      sinkWriter: () => new CollectingSink(got),
    });
    expect((await refJob.run()).recordsIn).toBe(RECORDS);
    const reference = got.map((e) => e.rec as Record<string, string | number>);
    expect(reference.length).toBeGreaterThan(100);
    // The table from the result's fields: key (k, window_start); integers as int64.
    const first = reference[0]!;
    const columns: ColumnSpec[] = [
      { name: 'k', type: 'string', key: true },
      { name: 'window_start', type: 'int64', key: true },
      ...Object.keys(first)
        .filter((f) => f !== 'k' && f !== 'window_start')
        .map((f): ColumnSpec => ({ name: f, type: typeof first[f] === 'string' ? 'string' : 'int64' })),
    ];
    for (const r of reference)
      for (const [f, v] of Object.entries(r)) expect(Number.isInteger(v) || typeof v === 'string', f).toBe(true);
    const table = await kudu.createTable({
      name: tableName,
      columns,
      hashPartitions: [{ columns: ['k'], buckets: 3 }],
    });

    const stateDir = await mkdtemp(join(tmpdir(), 'trib-kudu-crash-'));
    dirs.push(stateDir);
    let restoreFrom: string | undefined;
    for (let round = 0; round < rounds; round++) {
      const r = await start({ p: 1 + (round % 3), stateDir, restoreFrom });
      await sleep(700 + Math.floor(Math.random() * 900));
      r.job.crash();
      await expect(r.done).rejects.toMatchObject({ code: 'TRIB_JOB_FAILED' });
      restoreFrom = (await latestCheckpointPath(stateDir)) ?? restoreFrom;
    }
    const last = await start({ p: 2, stateDir, restoreFrom, bounded: true });
    await last.done;

    const rows: ScannedRow[] = [];
    for await (const batch of kudu.scan(table)) rows.push(...batch);
    const asText = (r: Record<string, unknown>): string =>
      JSON.stringify(
        Object.keys(r)
          .sort()
          .map((k) => [k, String(r[k])]),
      );
    expect(rows.map(asText).sort()).toEqual(reference.map(asText).sort());
  }, 300_000);
});
