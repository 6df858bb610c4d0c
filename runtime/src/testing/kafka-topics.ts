// Kafka plumbing shared by the integration tests that talk to the local cluster's broker.
import type { Kafka } from 'kafkajs';
import { ClusterError } from '../../../test/cluster/errors.ts';

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

/** Creates topics (name → partitions) and waits for their leaders. */
export async function createTopics(kafka: Kafka, topics: Record<string, number>): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: Object.entries(topics).map(([topic, numPartitions]) => ({ topic, numPartitions })),
      waitForLeaders: true,
    });
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
