// A test file's Kafka on the local cluster, declared in its `describe` (vitest only: it registers
// the cleanup), so each file does not repeat the client and the topic cleanup.
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
