// Two tenants, one Kafka: jobs of the same name with the same sink name in two namespaces
// (kafkaIdScope, as slot-main sets it from the StreamJob's namespace) run exactly-once side by
// side against the real broker. Unscoped, they would share transactional ids and one would
// fence the other's producers (ProducerFenced, the job fails); scoped, both finish and each
// topic holds exactly its job's records, and the ids themselves begin with the namespace.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { validateGraph } from '../validate-graph.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { readTopic } from '../../testing/kafka-reader.ts';
import { createTopics, deleteTopicsContaining, testBrokers } from '../../testing/kafka-topics.ts';

const { Kafka, logLevel } = kafkajs;

describe('Kafka ids are namespaced (real Kafka)', () => {
  const bs = testBrokers();
  const run = randomUUID().slice(0, 8);
  const n = 3_000;
  let kafka: KafkaClient;
  const dirs: string[] = [];

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'tributary-ns-ids-it', brokers: bs, logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [`it-ns-a-${run}`]: 1, [`it-ns-b-${run}`]: 1 });
  });

  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  // ~3 s of records, a checkpoint every 100 ms: dozens of transactions per job, overlapping.
  const graph = (topic: string): GraphSpec => ({
    sources: [
      {
        name: 'gen',
        datagen: {
          generator: 'schema',
          seed: 3,
          count: n,
          rate: 1_000,
          startTime: 1_700_000_000_000,
          fields: { id: { type: 'sequence' }, ts: { type: 'timestamp' } },
        },
      },
    ],
    sinks: [{ name: 'out', from: 'gen', kafka: { brokers: bs, topic, delivery: 'exactly-once' } }],
  });

  it('same job and sink names in two namespaces: neither fences the other, each topic gets exactly its records', async () => {
    const job = async (ns: string) => {
      const stateDir = await mkdtemp(join(tmpdir(), `trib-ns-${ns}-`));
      dirs.push(stateDir);
      return new JobExecutor(validateGraph(graph(`it-ns-${ns}-${run}`)), {
        parallelism: 1,
        logger: silentLogger(),
        jobName: `clicks-${run}`,
        kafkaIdScope: ns,
        checkpointing: { stateDir, intervalMs: 100 },
      });
    };
    const a = await job('a');
    const b = await job('b');
    const [ra, rb] = await Promise.all([a.run(), b.run()]);
    expect([ra.state, rb.state]).toEqual(['FINISHED', 'FINISHED']);
    for (const ns of ['a', 'b']) {
      const recs = await readTopic(kafka, `it-ns-${ns}-${run}`, { expected: n, timeoutMs: 60_000 });
      expect(recs.length, ns).toBe(n);
      expect(new Set(recs.map((r) => (JSON.parse(r.value) as { id: number }).id)).size, ns).toBe(n);
    }
    // The sink keeps its open-transaction intents per transactional-id prefix: the namespace leads it.
    for (const [ns, dir] of [
      ['a', dirs[0]],
      ['b', dirs[1]],
    ] as const)
      expect(await readdir(join(dir as string, 'kafka-txn'))).toEqual([
        encodeURIComponent(`${ns}.tributary-clicks-${run}-out`),
      ]);
  }, 120_000);
});
