// Against the real local Kafka broker: a source slot's offset lookups survive the retriable
// errors a broker gives in the first moments of a new topic. NOT_LEADER_OR_FOLLOWER cannot be
// produced on demand (it needs the broker to answer ListOffsets before it has applied its own
// leadership of the partition), so the one thing injected is that error on the first calls,
// thrown as kafkajs throws it; the lookups and the offsets are the real broker's.
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Admin, Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../../testing/kafka-topics.ts';
import { logOffsets } from './admin-lookups.ts';

const { Kafka, KafkaJSProtocolError, logLevel } = kafkajs;
/** An error as kafkajs throws it for a protocol error code (its `createErrorFromCode` shape). */
const protocolError = (type: string, code: number, retriable: boolean, message: string) =>
  new KafkaJSProtocolError(Object.assign(new Error(message), { type, code, retriable }));
const notLeader = () =>
  protocolError('NOT_LEADER_FOR_PARTITION', 6, true, 'This server is not the leader for that topic-partition');

/** The real admin, whose offset lookup first throws `errors` in turn; counts the calls made. */
function failingFirst(admin: Admin, errors: Error[]) {
  const calls = { offsets: 0 };
  const wrapped: Admin = {
    ...admin,
    fetchTopicOffsets: async (topic: string) => {
      calls.offsets++;
      const e = errors.shift();
      if (e) throw e;
      return admin.fetchTopicOffsets(topic);
    },
  };
  return { admin: wrapped, calls };
}

describe('Kafka source admin lookups (real Kafka)', () => {
  const run = randomUUID().slice(0, 8);
  const topic = `lookups-${run}`;
  let kafka: KafkaClient;
  let admin: Admin;

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'tributary-lookups-it', brokers: testBrokers(), logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [topic]: 2 });
    const producer = inputProducer(kafka);
    await producer.connect();
    await producer.send({ topic, messages: [0, 1, 2].map((i) => ({ partition: 0, value: String(i) })) });
    await producer.disconnect();
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
    await deleteTopicsContaining(kafka, run);
  });

  it('a partition whose leader is not in place yet: retries, then gives the real offsets', async () => {
    const f = failingFirst(admin, [notLeader(), notLeader()]);
    const offsets = await logOffsets(f.admin, topic);
    expect(offsets.map((o) => [o.partition, o.low, o.high]).sort()).toEqual([
      [0, '0', '3'],
      [1, '0', '0'],
    ]);
    expect(f.calls).toEqual({ offsets: 3 });
  });

  it('an error Kafka does not call retriable fails at once, unchanged', async () => {
    const denied = protocolError(
      'TOPIC_AUTHORIZATION_FAILED',
      29,
      false,
      'Not authorized to access topics: [Topic authorization failed]',
    );
    const f = failingFirst(admin, [denied]);
    await expect(logOffsets(f.admin, topic)).rejects.toBe(denied);
    expect(f.calls).toEqual({ offsets: 1 });
  });
});
