// Partitions a topic gains after a live rescale are read, by the slot the owner rule at the new
// parallelism names (kafka/partition-assignment.ts): a job at parallelism 3 with partition
// discovery every 300 ms scales in to 1 (slots 1 and 2 drain and leave), then its topic grows
// from 2 to 8 partitions and records are written to every one. Placed by the rule at the
// starting parallelism, the new partitions it gives slots 1 and 2 would be read by no one; Kafka's
// Java read_committed consumer must find every record once.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deliveryDiff, readTopicWithJava } from '../../../test/harness/java-topic-reader.ts';
import { partitionOwner } from '../connectors/kafka/partition-owner.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { createLogger, silentLogger } from '../telemetry/logger.ts';
import { kafkaTestRun } from '../testing/kafka-test-run.ts';
import { createTopics, growTopic, inputProducer } from '../testing/kafka-topics.ts';
import { createJobExecutor } from '../job/job-executor.ts';

const BEFORE = 2;
const AFTER = 8;
const PER_PARTITION = 200;

describe('live rescale: partitions found after it are placed at the new parallelism (real Kafka)', () => {
  const { run, bs, kafka } = kafkaTestRun('tributary-live-rescale-discovery-it');
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it(
    '3 → 1, then the topic grows: every record of every new partition is read once',
    { timeout: 120_000 },
    async () => {
      const input = `resc-disc-in-${run}`;
      const output = `resc-disc-out-${run}`;
      await createTopics(kafka, { [input]: BEFORE, [output]: 1 });
      const added = [...Array(AFTER).keys()].filter((p) => p >= BEFORE);
      // The case this guards: some new partition's owner at the starting parallelism is a drained slot.
      expect(added.some((p) => partitionOwner(input, p, 3) !== 0)).toBe(true);
      const stateDir = await mkdtemp(join(tmpdir(), 'tributary-resc-disc-'));
      dirs.push(stateDir);
      const job = await createJobExecutor(
        validateGraph({
          sources: [{ name: 'events', kafka: { brokers: bs, topic: input, partitionDiscoveryInterval: '300ms' } }],
          steps: [
            { name: 'byKey', from: 'events', keyBy: 'k' },
            { name: 'running', from: 'byKey', aggregate: { n: 'count()' } },
          ],
          sinks: [
            { name: 'out', from: 'byKey', kafka: { brokers: bs, topic: output, transactionalIdPrefix: `disc-${run}` } },
          ],
        }),
        {
          parallelism: 3,
          maxParallelism: 128,
          logger: process.env['DISC_DIAG'] ? createLogger('info') : silentLogger(),
          jobName: 'live-discovery-it',
          checkpointing: { stateDir, intervalMs: 200, timeoutMs: 30_000 },
        },
      );
      const done = job.run();
      done.catch(() => undefined);
      const producer = inputProducer(kafka);
      await producer.connect();
      const write = async (partitions: number[], from: number): Promise<string[]> => {
        const ids: string[] = [];
        for (const partition of partitions) {
          const messages = Array.from({ length: PER_PARTITION }, (_, i) => {
            const id = `${from + partition}-${i}`;
            ids.push(id);
            return { partition, value: JSON.stringify({ id, k: `k${i % 17}` }) };
          });
          await producer.send({ topic: input, messages });
        }
        return ids;
      };
      try {
        await expect.poll(() => job.status().state, { timeout: 30_000 }).toBe('RUNNING');
        const first = await write([0, 1], 0);
        await expect.poll(() => job.status().recordsIn, { timeout: 30_000 }).toBeGreaterThan(0);
        await job.rescale(1);
        expect(job.parallelism).toBe(1);
        await growTopic(kafka, input, AFTER);
        await producer.disconnect(); // it knew the topic at 2 partitions
        await producer.connect();
        const second = await write(added, 1000);
        const all = [...first, ...second];
        await expect.poll(() => job.status().recordsIn, { timeout: 60_000 }).toBe(all.length);
        await job.triggerCheckpoint();
        const got = (await readTopicWithJava(bs.join(','), output, 'read_committed')).map(
          (r) => (JSON.parse(r.value) as { id: string }).id,
        );
        const diff = deliveryDiff(all, got);
        expect({ missing: diff.missing.length, duplicated: diff.duplicated.length }).toEqual({
          missing: 0,
          duplicated: 0,
        });
      } finally {
        await producer.disconnect();
        job.stop();
        await done.catch(() => undefined);
      }
    },
  );
});
