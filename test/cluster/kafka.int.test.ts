import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';

const brokers = (): string[] => {
  const b = process.env.TRIBUTARY_KAFKA_BROKERS;
  if (!b) throw new Error('TRIBUTARY_KAFKA_BROKERS is not set: the integration setup starts Kafka');
  return b.split(',');
};

/** Reads `topic` from the beginning until `expected` values arrived or the idle timeout passed. */
async function readAll(consumer: Consumer, topic: string, expected: number, idleMs = 4000): Promise<string[]> {
  const values: string[] = [];
  await consumer.subscribe({ topic, fromBeginning: true });
  let last = Date.now();
  await consumer.run({
    eachMessage: async ({ message }) => {
      values.push(message.value!.toString());
      last = Date.now();
    },
  });
  while (values.length < expected || Date.now() - last < idleMs) {
    if (Date.now() - last > 30_000) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return values;
}

describe('the local Kafka broker', () => {
  const kafka = new Kafka({ clientId: 'it', brokers: brokers(), logLevel: logLevel.NOTHING });
  const consumers: Consumer[] = [];
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.disconnect()));
  });

  it('delivers produced records to a consumer', async () => {
    const topic = `it-plain-${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: `g-${randomUUID()}` });
    consumers.push(consumer);
    await consumer.connect();
    const got = await readAll(consumer, topic, 100, 500);
    expect(got.sort()).toEqual(Array.from({ length: 100 }, (_, i) => `v${i}`).sort());
  });

  it('hides aborted transactional records from a read_committed consumer', async () => {
    const topic = `it-txn-${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({
      transactionalId: `tx-${randomUUID()}`,
      maxInFlightRequests: 1,
      idempotent: true,
    });
    await producer.connect();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ value: 'committed-1' }, { value: 'committed-2' }] });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ value: 'aborted-1' }] });
    await aborted.abort();
    const after = await producer.transaction();
    await after.send({ topic, messages: [{ value: 'committed-3' }] });
    await after.commit();
    await producer.disconnect();

    const readCommitted = kafka.consumer({ groupId: `g-${randomUUID()}`, readUncommitted: false });
    consumers.push(readCommitted);
    await readCommitted.connect();
    expect(await readAll(readCommitted, topic, 3)).toEqual(['committed-1', 'committed-2', 'committed-3']);

    // The aborted record is in the log: a read_uncommitted reader sees it, so the filter above is real.
    const readUncommitted = kafka.consumer({ groupId: `g-${randomUUID()}`, readUncommitted: true });
    consumers.push(readUncommitted);
    await readUncommitted.connect();
    expect(await readAll(readUncommitted, topic, 4)).toContain('aborted-1');
  });
});
