// The Kafka bench's output check (bench/kafka-topics.ts) against the real local broker: an
// output with the input's records in any order and any key order passes, one changed, lost or
// duplicated record does not, and an exactly-once sink's output (transactions, an aborted one
// among them, the topic ending on a commit marker) is read to its end without the aborted records.
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTopics,
  deleteTopics,
  loadBids,
  outputDigest,
  Q1_RATE,
  referenceDigests,
  type TopicDigest,
} from '../../bench/kafka-topics.ts';

const { Kafka, logLevel } = kafkajs;
const brokers = process.env['TRIBUTARY_KAFKA_BROKERS'] as string;
const id = `bench-check-${randomUUID().slice(0, 8)}`;
const input = `${id}-in`;
const topics = [input, ...['reordered', 'q1', 'changed', 'dup', 'txn'].map((t) => `${id}-${t}`)];
const kafka = new Kafka({ clientId: 'bench-check-test', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
const RECORDS = 400;

let values: string[] = [];
let ref: { q0: TopicDigest; q1: TopicDigest };

async function readValues(topic: string, n: number): Promise<string[]> {
  const out: string[] = [];
  const consumer = kafka.consumer({ groupId: `${id}-read` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const { promise, resolve } = Promise.withResolvers<void>();
  await consumer.run({
    eachMessage: ({ message }) => {
      out.push((message.value as Buffer).toString('utf8'));
      if (out.length === n) resolve();
      return Promise.resolve();
    },
  });
  await promise;
  await consumer.disconnect();
  return out;
}

async function write(topic: string, vs: string[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: vs.map((value) => ({ value })) });
  await producer.disconnect();
}

beforeAll(async () => {
  await createTopics(brokers, topics);
  await loadBids(brokers, input, RECORDS);
  ref = await referenceDigests(brokers, input);
  values = await readValues(input, RECORDS);
});

afterAll(async () => {
  await deleteTopics(brokers, topics);
});

describe('the Kafka bench output check', () => {
  it('matches the input in any order and the q1 map with its fields in any order', async () => {
    expect(ref.q0.count).toBe(RECORDS);
    await write(`${id}-reordered`, [...values].reverse());
    expect(await outputDigest(brokers, `${id}-reordered`)).toEqual(ref.q0);
    const q1 = values.map((v) => {
      const r = JSON.parse(v) as Record<string, unknown>;
      const mapped: Record<string, unknown> = { ...r, price: (r['price'] as number) * Q1_RATE };
      return JSON.stringify(Object.fromEntries(Object.entries(mapped).reverse()));
    });
    await write(`${id}-q1`, q1);
    expect(await outputDigest(brokers, `${id}-q1`)).toEqual(ref.q1);
    expect(ref.q1.digest).not.toBe(ref.q0.digest);
  });

  it('tells a changed record, and a lost one made up for by a duplicate', async () => {
    const changed = [...values];
    const r = JSON.parse(changed[7] as string) as Record<string, unknown>;
    changed[7] = JSON.stringify({ ...r, price: (r['price'] as number) + 0.01 });
    await write(`${id}-changed`, changed);
    const c = await outputDigest(brokers, `${id}-changed`);
    expect(c.count).toBe(RECORDS);
    expect(c.digest).not.toBe(ref.q0.digest);
    await write(`${id}-dup`, [values[0] as string, ...values.slice(0, -1)]);
    const d = await outputDigest(brokers, `${id}-dup`);
    expect(d.count).toBe(RECORDS);
    expect(d.digest).not.toBe(ref.q0.digest);
  });

  it('reads transactional output to its last commit marker, without aborted records', async () => {
    const topic = `${id}-txn`;
    const producer = kafka.producer({ transactionalId: `${id}-txn`, maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const half = RECORDS / 2;
    for (const [vs, commit] of [
      [values.slice(0, half), true],
      [values.slice(0, 10), false],
      [values.slice(half), true],
    ] as const) {
      const t = await producer.transaction();
      await t.send({ topic, acks: -1, messages: vs.map((value) => ({ value })) });
      await (commit ? t.commit() : t.abort());
    }
    await producer.disconnect();
    expect(await outputDigest(brokers, topic)).toEqual(ref.q0);
  });
});
