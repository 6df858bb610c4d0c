// The kudu sink with its slots as real OS processes SIGKILLed, with the real Kafka and the real
// Kudu: a keyed windowed job (Kafka → keyBy → 2 s tumbling window → count/sum/max) run by the
// local supervisor (`tributary run --distributed`: one process per slot, TCP data plane,
// checkpoints every 300 ms, state on local disk) upserts its window results into a Kudu table.
// Each round SIGKILLs a running slot process as the round's second checkpoint completes, and
// again at a random moment of the next attempt when the job is still running; the
// supervisor restarts all slots from the latest completed checkpoint, and the replay rewrites the
// rows written after it. The table must equal an uninterrupted in-process reference run exactly
// (every row, every value, nothing extra) in every round.
//
// Writes are made slow for real while it runs (Kudu's own fault injection: 50 ms added to every
// write on every tablet server), so the sink is the bottleneck and always has rows queued or in
// flight when a slot dies: a checkpoint completing before its rows are in Kudu would lose them.
//
// Rounds: TRIBUTARY_CHAOS_ROUNDS (default 3; each kills at least once, asserted).
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTRACT_VERSION } from '../../control/contract.ts';
import { createJobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec, KuduSinkSpec } from '../../graph/spec.ts';
import { Supervisor } from '../../process/supervisor.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { CollectingSink, type Emitted } from '../../testing/harness.ts';
import { createTopics, deleteTopicsContaining, testBrokers } from '../../testing/kafka-topics.ts';
import { testKuduMasters } from '../../testing/kudu-masters.ts';
import { SlotKills } from '../../testing/slot-kills.ts';
import { validateGraph } from '../validate-graph.ts';
import { setKuduTserverFlag } from '../../../../test/cluster/components/kudu.ts';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import { KuduClient } from './client/kudu-client.ts';
import type { ColumnSpec } from './client/schema.ts';

const { Kafka, logLevel } = kafkajs;
const ROUNDS = Number(process.env['TRIBUTARY_CHAOS_ROUNDS'] ?? 3);
const RECORDS = 40_000;
const PARTITIONS = 4;
const BASE = 1_700_000_000_000;
const DIAG = Boolean(process.env['EOS_DIAG']);
const slowWrites = 'tablet_inject_latency_on_apply_write_op_ms';

/** A row as comparable text: its fields sorted, every value as a string (int64 scans give bigints). */
const asText = (r: Record<string, unknown>): string =>
  JSON.stringify(
    Object.keys(r)
      .sort()
      .map((k) => [k, String(r[k])]),
  );

describe('kudu sink with SIGKILLed slot processes (real Kafka, real Kudu)', () => {
  const bs = testBrokers();
  const run = randomUUID().slice(0, 8);
  const input = `it-kudu-kill-in-${run}`;
  const tableOf = (round: number): string => `it_kudu_kill_${run}_${round}`;
  const kudu = new KuduClient({ masters: [testKuduMasters()] });
  const dir = mkdtempSync(join(tmpdir(), 'trib-kudu-kill-'));
  let kafka: KafkaClient;
  let expected: string[] = [];
  let columns: ColumnSpec[] = [];
  let keep = false;
  let totalKills = 0;

  const graph = (sink: KuduSinkSpec | undefined): GraphSpec => ({
    sources: [
      {
        name: 'events',
        kafka: { brokers: bs, topic: input, groupId: `kudu-kill-${randomUUID()}`, bounded: 'latest' },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '500ms' },
      },
    ],
    steps: [
      { name: 'by-user', from: 'events', keyBy: 'user' },
      { name: 'per-2s', from: 'by-user', window: { tumbling: { size: '2s' } } },
      { name: 'totals', from: 'per-2s', aggregate: { n: 'count()', amount: 'sum(amount)', maxId: 'max(id)' } },
    ],
    sinks: [sink ? { name: 'out', from: 'totals', kudu: sink } : { name: 'out', from: 'totals', console: {} }],
  });

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'tributary-kudu-kill-it', brokers: bs, logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [input]: PARTITIONS });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const per = RECORDS / PARTITIONS;
    for (let p = 0; p < PARTITIONS; p++) {
      for (let start = 0; start < per; start += 5000) {
        const messages = Array.from({ length: Math.min(5000, per - start) }, (_, j) => {
          const i = start + j;
          const user = `user-${(i * 13 + p) % 100}`;
          return {
            key: user,
            partition: p,
            value: JSON.stringify({ id: p * per + i, user, amount: (i % 7) + 1, ts: BASE + i * 20 + p }),
          };
        });
        await producer.send({ topic: input, messages });
      }
    }
    await producer.disconnect();
    // The reference: the same graph, uninterrupted, in process, into memory.
    const got: Emitted[] = [];
    const ref = await createJobExecutor(validateGraph(graph(undefined)), {
      parallelism: 2,
      logger: silentLogger(),
      sinkWriter: () => new CollectingSink(got),
    });
    expect((await ref.run()).recordsIn).toBe(RECORDS);
    const rows = got.map((e) => e.rec as Record<string, string | number>);
    expect(rows.length).toBeGreaterThan(1000);
    expected = rows.map(asText).sort();
    // The table from the results' fields: key (user, window_start), integers as int64.
    const first = rows[0]!;
    for (const r of rows)
      for (const [f, v] of Object.entries(r)) expect(Number.isInteger(v) || typeof v === 'string', f).toBe(true);
    columns = [
      { name: 'user', type: 'string', key: true },
      { name: 'window_start', type: 'int64', key: true },
      ...Object.keys(first)
        .filter((f) => f !== 'user' && f !== 'window_start')
        .map((f): ColumnSpec => ({ name: f, type: typeof first[f] === 'string' ? 'string' : 'int64' })),
    ];
    await setKuduTserverFlag(clusterPaths(), slowWrites, '50');
  }, 300_000);

  afterAll(async () => {
    await setKuduTserverFlag(clusterPaths(), slowWrites, '0');
    if (kafka) await deleteTopicsContaining(kafka, run);
    if (!keep) {
      for (let round = 1; round <= ROUNDS; round++) await kudu.deleteTable(tableOf(round)).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
    await kudu.close();
  });

  for (let round = 1; round <= ROUNDS; round++) {
    it(`round ${round}/${ROUNDS}`, async () => {
      const parallelism = 2 + (round % 2);
      const stateDir = join(dir, `state-${round}`);
      const logDir = join(dir, `logs-${round}`);
      mkdirSync(logDir, { recursive: true });
      const table = await kudu.createTable({
        name: tableOf(round),
        columns,
        hashPartitions: [{ columns: ['user'], buckets: 3 }],
      });
      const g = graph({ masters: testKuduMasters(), table: tableOf(round), batchSize: 200 });
      validateGraph(g);
      const book = new SlotKills({ stateDir, ...(DIAG ? { logDir } : {}) });
      const sup = new Supervisor({
        config: {
          contractVersion: CONTRACT_VERSION,
          jobName: `kudu-kill-${round}-${run}`,
          graph: g,
          parallelism,
          maxParallelism: 64,
          checkpointing: { intervalMs: 300, timeoutMs: 30_000, retained: 2 },
          stateDir,
          allowNonRestoredState: false,
        },
        logger: silentLogger(),
        maxRestarts: 10,
        backoffMs: 200,
        env: { TRIBUTARY_LOG_LEVEL: DIAG ? 'debug' : 'warn' },
        ...book.hooks(),
      });
      const done = book.follow(sup.run());
      // The first kill hits a running slot the moment the round's second checkpoint completes (the
      // sink in full flow, the rows before that barrier just flushed); the second comes at a random
      // moment of the next attempt (start-up, restore and sink opening are fair game) if any.
      await book.started();
      let checkpoint: string | undefined;
      for (let c = 0; c < 2; c++) checkpoint = (await book.nextCheckpoint(checkpoint)) ?? checkpoint;
      expect(book.finished, 'the job finished before its second checkpoint: nothing for a kill to test').toBe(false);
      for (let k = 0; k < 2 && !book.finished; k++) {
        const kill = await book.killRunningSlot(k === 0 ? 0 : 150 + Math.floor(Math.random() * 2000));
        if (!kill) break;
        totalKills++;
      }
      const { kills } = book;
      expect(kills.length, 'no slot was killed in this round').toBeGreaterThanOrEqual(1);
      const result = await done.catch((e: unknown) => {
        keep = true;
        process.stderr.write(
          `kudu kill round ${round} FAILED (state, logs and tables kept in ${dir}): ${(e as Error).message}; ${book.summary()}\n`,
        );
        throw e;
      });
      process.stderr.write(
        `kudu kill round ${round}: parallelism ${parallelism}, attempts ${result.attempts}, restarts ${result.restarts}, ${book.summary()}\n`,
      );
      expect(result.state).toBe('FINISHED');
      expect(result.restarts).toBeGreaterThanOrEqual(1);

      const got: string[] = [];
      for await (const rows of kudu.scan(table)) for (const r of rows) got.push(asText(r));
      got.sort();
      if (got.length !== expected.length || got.some((x, i) => x !== expected[i])) keep = true;
      expect(got.length, `round ${round}: rows in the table`).toBe(expected.length);
      expect(got, `round ${round}: the table differs from the reference`).toEqual(expected);
    }, 300_000);
  }

  it('ran at least one round and killed a running slot in every round', () => {
    expect(ROUNDS, 'TRIBUTARY_CHAOS_ROUNDS must be at least 1').toBeGreaterThanOrEqual(1);
    expect(totalKills).toBeGreaterThanOrEqual(ROUNDS);
  });
});
