// A test file's Kafka on the local cluster, declared in its `describe` (vitest only: it registers
// the cleanup), so each file does not repeat the client and the topic cleanup; and the values of a
// topic as bytes, for wire formats a string would mangle.
import { randomUUID } from 'node:crypto';
import kafkajs, { type Kafka } from 'kafkajs';
import { afterAll } from 'vitest';
import { deleteTopicsContaining, testBrokers } from './kafka-topics.ts';

/**
 * A run id for the file's topic names, the brokers and a client (it connects on use); every topic whose name
 * carries the run id is deleted after the file's tests.
 */
export function kafkaTestRun(clientId = 'tributary-it'): { run: string; bs: string[]; kafka: Kafka } {
  const run = randomUUID().slice(0, 8);
  const bs = testBrokers();
  const kafka = new kafkajs.Kafka({ clientId, brokers: bs, logLevel: kafkajs.logLevel.NOTHING });
  afterAll(() => deleteTopicsContaining(kafka, run));
  return { run, bs, kafka };
}

/** The values of the first `count` messages of `topic`, as bytes (a new group, from the beginning; 30 s at most). */
export async function readValueBytes(kafka: Kafka, topic: string, count: number): Promise<Buffer[]> {
  const consumer = kafka.consumer({ groupId: `it-bytes-${randomUUID()}` });
  const bytes: Buffer[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${bytes.length} of ${count} messages from ${topic}`)), 30_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            bytes.push(message.value as Buffer);
            if (bytes.length === count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return bytes;
}
