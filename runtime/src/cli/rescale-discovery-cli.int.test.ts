// Partitions a topic gains after a live scale in across worker threads (`tributary run --threads`) and
// slot processes (`--distributed`) are read, each once (placement.ts): a StreamJob (Kafka with
// partition discovery every 500 ms → keyBy → exactly-once Kafka) runs at 3 slots on a 4-partition topic;
// `tributary rescale --to 2`, as a user types it, takes slot 2 out; then the topic grows to 12 partitions
// and every one is written to. Placed by the rule at the starting parallelism, the new partitions whose
// owner at 3 is slot 2 would be read by no one (3 of the 8 added here), with nothing in the log. Kafka's
// Java read_committed consumer must find every record of the input exactly once in the output, and slot 0
// must neither warn of nor list a partition that no slot reads (unowned-partitions.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { deliveryDiff, readTopicWithJava } from '../../../test/harness/java-topic-reader.ts';
import { partitionOwner } from '../connectors/kafka/partition-owner.ts';
import { kafkaTestRun } from '../testing/kafka-test-run.ts';
import { createTopics, growTopic, inputProducer } from '../testing/kafka-topics.ts';
import { readTopic } from '../testing/kafka-reader.ts';
import { startRescalableRun } from '../testing/rescalable-run.ts';

const BEFORE = 4;
const AFTER = 12;
const PER_PARTITION = 500;
const TOTAL = AFTER * PER_PARTITION;

describe('tributary rescale: partitions found after a live scale in are read (real Kafka)', () => {
  const { run, bs, kafka } = kafkaTestRun('tributary-rescale-discovery-cli-it');
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const manifest = (input: string, output: string) => ({
    apiVersion: 'tributary.dev/v1alpha1',
    kind: 'StreamJob',
    metadata: { name: `rescale-disc-${run}` },
    spec: {
      replicas: 3,
      maxParallelism: 128,
      checkpointing: { interval: '200ms' },
      graph: {
        sources: [
          {
            name: 'events',
            kafka: { brokers: bs.join(','), topic: input, format: 'json', partitionDiscoveryInterval: '500ms' },
          },
        ],
        steps: [{ name: 'byKey', from: 'events', keyBy: 'k' }],
        sinks: [{ name: 'out', from: 'byKey', kafka: { brokers: bs.join(','), topic: output, key: 'k' } }],
      },
    },
  });

  /** PER_PARTITION records to each of `partitions`, ids `<partition>-<i>`. */
  async function write(producer: Producer, topic: string, partitions: readonly number[]): Promise<void> {
    for (const partition of partitions) {
      const messages = Array.from({ length: PER_PARTITION }, (_, i) => {
        const k = `k${i % 17}`;
        return { partition, key: k, value: JSON.stringify({ id: `${partition}-${i}`, k }) };
      });
      await producer.send({ topic, messages });
    }
  }

  it.each([['--threads'], ['--distributed']])(
    'run %s: 3 → 2, then the topic grows from 4 to 12 partitions: every record read once',
    { timeout: 240_000 },
    async (mode) => {
      const input = `rescale-disc-in-${mode.slice(2)}-${run}`;
      const output = `rescale-disc-out-${mode.slice(2)}-${run}`;
      const added = [...Array(AFTER).keys()].filter((p) => p >= BEFORE);
      // The case this guards: some new partition's owner at the starting parallelism is the slot that leaves.
      expect(added.filter((p) => partitionOwner(input, p, 3) === 2).length).toBeGreaterThan(0);
      await createTopics(kafka, { [input]: BEFORE, [output]: 1 });
      const dir = await mkdtemp(join(tmpdir(), 'tributary-rescale-disc-'));
      dirs.push(dir);
      const r = await startRescalableRun(dir, manifest(input, output), mode);
      let producer = inputProducer(kafka);
      try {
        await producer.connect();
        await write(producer, input, [...Array(BEFORE).keys()]);
        await expect.poll(async () => (await r.status()).recordsIn ?? 0, { timeout: 60_000 }).toBeGreaterThan(0);
        const down = await r.rescale(2);
        expect(down.code, down.stderr).toBe(0);
        expect(down.stderr).toMatch(/3 → 2 completed/);
        expect((await r.status()).parallelism).toBe(2);
        await growTopic(kafka, input, AFTER);
        await producer.disconnect(); // it knew the topic at 4 partitions
        producer = inputProducer(kafka);
        await producer.connect();
        await write(producer, input, added);
        // Every input record gives one output record: all of them committed means every partition was read.
        const committed = await readTopic(kafka, output, { expected: TOTAL, timeoutMs: 120_000, settleMs: 0 });
        expect(committed.length).toBeGreaterThanOrEqual(TOTAL);
        expect(r.job.stderr).not.toMatch(/restarting all slots|job failing|no slot reads this partition/);
        expect((await r.status()).unreadPartitions).toBeUndefined();
      } catch (e) {
        // Slot 0's alarm for partitions no slot reads (unowned-partitions.ts), then the end of the run's log.
        const alarms = r.job.stderr.split('\n').filter((l) => l.includes('no slot reads this partition'));
        const ends = `the run's stderr ends:\n${r.job.stderr.slice(-3000)}`;
        throw new Error(`${(e as Error).message}\nalarms:\n${alarms.join('\n')}\n${ends}`, { cause: e });
      } finally {
        await producer.disconnect();
        r.job.child.kill('SIGKILL');
      }
      const got = (await readTopicWithJava(bs.join(','), output, 'read_committed')).map(
        (rec) => (JSON.parse(rec.value) as { id: string }).id,
      );
      const want = [...Array(AFTER).keys()].flatMap((p) =>
        Array.from({ length: PER_PARTITION }, (_, i) => `${p}-${i}`),
      );
      const diff = deliveryDiff(want, got);
      expect({ missing: diff.missing.length, duplicated: diff.duplicated.length }).toEqual({
        missing: 0,
        duplicated: 0,
      });
    },
  );
});
