// A broker that serves metadata does not yet serve consumer groups or transactions. The first
// FindCoordinator on a fresh broker makes it create __consumer_offsets (or __transaction_state),
// and until each partition has a leader and its coordinator loaded it, lookups answer
// COORDINATOR_NOT_AVAILABLE and requests COORDINATOR_LOAD_IN_PROGRESS. kafkajs retries the
// former inside FindCoordinator for ~9 s (retries: 5), then gives up with a non-retriable
// KafkaJSGroupCoordinatorNotFound: a consumer crashes without restarting (a test's reader waits
// forever, a job fails), and every earlier answer is logged at error level. After a restart the
// broker loads those partitions again. So the cluster is ready only when a coordinator answers
// for every partition of both topics: a group id and a transactional id is chosen per partition.
import { Kafka, logLevel } from 'kafkajs';
import { ClusterError } from '../errors.ts';

/** `offsets.topic.num.partitions` and `transaction.state.log.num.partitions` (serverProperties). */
export const OFFSETS_PARTITIONS = 4;
export const TRANSACTION_STATE_PARTITIONS = 4;

/** Kafka's partition of a group or transactional id: Utils.abs(id.hashCode()) % n. */
export function coordinatorPartition(id: string, partitions: number): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (Math.imul(31, h) + id.charCodeAt(i)) | 0;
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}

/** One id per partition, `<prefix>-<k>` with the smallest k landing there. */
export function idPerPartition(prefix: string, partitions: number): string[] {
  const ids = new Map<number, string>();
  for (let k = 0; ids.size < partitions; k++) {
    const id = `${prefix}-${k}`;
    const p = coordinatorPartition(id, partitions);
    if (!ids.has(p)) ids.set(p, id);
  }
  return [...ids.entries()].sort(([a], [b]) => a - b).map(([, id]) => id);
}

const groups = idPerPartition('tributary-cluster-check-group', OFFSETS_PARTITIONS);
const transactionalIds = idPerPartition('tributary-cluster-check-txn', TRANSACTION_STATE_PARTITIONS);

/**
 * True once every group and transaction coordinator partition answers: DescribeGroups (the
 * group's coordinator found and its partition loaded) per group id, InitProducerId per
 * transactional id. Throws the broker's answer otherwise (kafkajs retries nothing here).
 */
export async function coordinatorsAnswer(brokers: string): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'tributary-cluster-check',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster(); // the broker pool by node id, which coordinator lookups pick from
    await admin.describeGroups(groups);
    for (const transactionalId of transactionalIds) {
      // An idempotent producer refuses `retries: 0`; one retry keeps each check short all the same.
      const producer = kafka.producer({
        transactionalId,
        idempotent: true,
        maxInFlightRequests: 1,
        retry: { retries: 1 },
      });
      try {
        await producer.connect();
        // InitProducerId at the id's coordinator; nothing is sent, so the abort ends nothing at the broker.
        await (await producer.transaction()).abort();
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
    }
    return true;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * For a broker this process did not start (a cluster reused by the tests' global setup): polls coordinatorsAnswer until
 * it holds, else CLUSTER_NOT_READY naming the broker's last answer. startKafka waits the same way on the process.
 */
export async function waitForCoordinators(brokers: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await coordinatorsAnswer(brokers)) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline)
      throw new ClusterError(
        'CLUSTER_NOT_READY',
        'kafka',
        `${brokers} not serving group and transaction coordinators after ${timeoutMs / 1000}s: ${(last as Error | undefined)?.message ?? 'no answer'}`,
        { cause: last },
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}
