// A Kafka source slot's consumer against the real broker: alignment resumes a partition while the
// consumer that reads it is still starting (a live rescale's take-over: the joining slot's first
// alignment report holds the group back for a moment). The consumer must read that partition once
// it has started. Applying the paused set taken when the consumer was built, after its start,
// paused it for good: the slot read nothing from it again, and no window after that ever fired.
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, deleteTopicsContaining, testBrokers } from '../../testing/kafka-topics.ts';
import { recorder, until, writeNumbered } from '../../testing/fetch-recorder.ts';
import { SlotConsumer } from './slot-consumer.ts';

const { Kafka, logLevel } = kafkajs;
const RECORDS = 500;

describe('a slot consumer resumed while it starts (real Kafka)', () => {
  const run = randomUUID().slice(0, 8);
  const topic = `it-slot-consumer-pause-${run}`;
  const brokers = testBrokers();
  let kafka: KafkaClient;

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'it-slot-consumer-pause', brokers, logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [topic]: 1 });
    await writeNumbered(kafka, topic, 0, 0, RECORDS);
  });

  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
  });

  for (const fetchThread of [false, true])
    it(`reads the partition alignment resumed during its start (${fetchThread ? 'fetch thread' : 'slot thread'})`, async () => {
      const r = recorder();
      // Alignment pauses partition 0 as the consumer is built ...
      let paused: number[] = [0];
      let resumeScheduled = false;
      const consumer = new SlotConsumer(
        () => {
          // ... and resumes it once the consumer's start is under way (connecting takes round trips).
          if (!resumeScheduled) {
            resumeScheduled = true;
            setImmediate(() => {
              paused = [];
              consumer.setPaused([]);
            });
          }
          return {
            kafka,
            clientId: 'it-slot-consumer-pause',
            logger: pino({ level: 'silent' }),
            name: `source "in" slot 0`,
            fetchThread,
            keepHeaders: false,
            requestTimeoutMs: 10_000,
          };
        },
        () => r.handler,
        () => paused,
      );
      try {
        consumer.setPaused(paused); // no consumer yet: what the next one starts with
        await consumer.replace(() => ({
          topic,
          brokers,
          groupId: `it-slot-consumer-pause-${randomUUID()}`,
          seeks: [[0, 0n]],
        }));
        expect(resumeScheduled).toBe(true);
        expect(paused).toEqual([]); // resumed before the start ended: the race this test is about
        await until(() => (r.got.get(0)?.length ?? 0) >= RECORDS, 20_000);
        expect(r.got.get(0)).toEqual(Array.from({ length: RECORDS }, (_, i) => BigInt(i)));
        expect(r.failures).toEqual([]);
      } finally {
        await consumer.stop();
      }
    });
});
