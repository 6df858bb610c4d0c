// Kafka plumbing shared by the integration tests that talk to the local cluster's broker.
import type { Kafka, Producer, ProducerConfig } from 'kafkajs';
import { ClusterError } from '../../../test/cluster/errors.ts';
import { logOffsets } from '../connectors/kafka/admin-lookups.ts';

/** The broker list the integration setup exports; a clear error when run outside it. */
export function testBrokers(): string[] {
  const b = process.env['TRIBUTARY_KAFKA_BROKERS'];
  if (!b) {
    throw new ClusterError(
      'CLUSTER_NOT_RUNNING',
      'kafka',
      'TRIBUTARY_KAFKA_BROKERS is not set: run through `vitest --project integration` (its global setup starts Kafka) or export it, e.g. 127.0.0.1:19092',
    );
  }
  return b.split(',');
}

/**
 * Creates topics (name → partitions) and waits until every partition is served: its leader known
 * (waitForLeaders) and its log offsets answered. On a loaded broker a partition can have a leader
 * in the metadata a while before that broker hosts it, and a first produce to it then fails with
 * UNKNOWN_TOPIC_OR_PARTITION / NOT_LEADER_OR_FOLLOWER.
 */
export async function createTopics(kafka: Kafka, topics: Record<string, number>): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: Object.entries(topics).map(([topic, numPartitions]) => ({ topic, numPartitions })),
      waitForLeaders: true,
    });
    for (const topic of Object.keys(topics)) await logOffsets(admin, topic);
  } finally {
    await admin.disconnect();
  }
}

/** Grows `topic` to `count` partitions and waits (at most 30 s) until each is served, as createTopics does. */
export async function growTopic(kafka: Kafka, topic: string, count: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createPartitions({ topicPartitions: [{ topic, count }] });
    const until = Date.now() + 30_000;
    for (;;) {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      if (meta.topics[0]?.partitions.filter((q) => q.leader >= 0).length === count) break;
      if (Date.now() > until)
        throw new ClusterError(
          'CLUSTER_NOT_READY',
          'kafka',
          `topic ${topic}: not all ${count} partitions have a leader`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
    await logOffsets(admin, topic);
  } finally {
    await admin.disconnect();
  }
}

/** Deletes every topic whose name contains `marker` (a test run's unique id); best effort. */
export async function deleteTopicsContaining(kafka: Kafka, marker: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.includes(marker));
    await admin.deleteTopics({ topics }).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}

/**
 * The producer of a test's input: idempotent. A plain kafkajs producer resends a whole produce
 * request when it times out or one of its partitions fails (a loaded broker, NOT_LEADER_OR_FOLLOWER
 * from a partition of a topic just created), so partitions that had been appended get those records
 * twice: the input then holds records the test's reference does not count (in an event-time test,
 * copies far behind their partition's event time, so late), and the job's correct output differs
 * from it. With sequence numbers the broker drops the resent copies.
 */
export function inputProducer(
  kafka: Kafka,
  config: Omit<ProducerConfig, 'idempotent' | 'maxInFlightRequests'> = {},
): Producer {
  return kafka.producer({ ...config, idempotent: true, maxInFlightRequests: 1 });
}

/** Records `{n: 0}` … `{n: count − 1}`, record i to partition i mod `partitions`, in one idempotent send. */
export async function writeNumbered(kafka: Kafka, topic: string, count: number, partitions: number): Promise<void> {
  const producer = inputProducer(kafka);
  await producer.connect();
  try {
    await producer.send({
      topic,
      messages: Array.from({ length: count }, (_, i) => ({
        partition: i % partitions,
        value: JSON.stringify({ n: i }),
      })),
    });
  } finally {
    await producer.disconnect();
  }
}
