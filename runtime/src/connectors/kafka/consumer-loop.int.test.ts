// The Kafka source's consumer loop on the slot's thread, against the real broker. While the slot
// withholds room (its sink backpressured) for longer than the group's session timeout, the
// consumer stays in its group, and once room returns it fetches on from where it was. And when
// it does lose its session (an event loop stalled past the timeout), the rejoin fetches on from
// where it was too, not from the start of the partition.
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, deleteTopicsContaining, testBrokers } from '../../testing/kafka-topics.ts';
import { recorder, until, writeNumbered } from '../../testing/fetch-recorder.ts';
import { ConsumerLoop, type FetchHandler } from './consumer-loop.ts';

const { Kafka, logLevel } = kafkajs;
const RECORDS = 3000;
/** The broker's smallest allowed session timeout (group.min.session.timeout.ms's default). */
const SESSION_MS = 6000;

describe('kafka consumer loop (real Kafka)', () => {
  const run = randomUUID().slice(0, 8);
  const topic = `it-consumer-loop-${run}`;
  const brokers = testBrokers();
  let kafka: KafkaClient;

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'it-consumer-loop', brokers, logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [topic]: 1 });
    await writeNumbered(kafka, topic, 0, 0, RECORDS);
  });

  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
  });

  const everyRecordOnce = Array.from({ length: RECORDS }, (_, i) => BigInt(i));

  /** A loop over the topic from offset 0 in a group of its own, and the group's member ids. */
  function consumerOf(handler: FetchHandler) {
    const groupId = `it-consumer-loop-${randomUUID()}`;
    const loop = new ConsumerLoop(
      kafka,
      { topic, brokers, groupId, seeks: [[0, 0n]], autoCommit: false, sessionTimeoutMs: SESSION_MS },
      handler,
    );
    const admin = kafka.admin();
    const members = async (): Promise<string[]> =>
      (await admin.describeGroups([groupId])).groups[0]?.members.map((m) => m.memberId) ?? [];
    return { loop, admin, members };
  }

  it('stays in its group while room is withheld past the session timeout, then fetches on without reading again', async () => {
    const r = recorder();
    r.setRoom(false);
    const { loop, admin, members } = consumerOf(r.handler);
    await admin.connect();
    try {
      await loop.start();
      await until(() => r.fetches() >= 1);
      const before = await members();
      expect(before).toHaveLength(1);
      // Three session timeouts with the batch waiting for room.
      await new Promise((res) => setTimeout(res, 3 * SESSION_MS));
      expect(r.fetches()).toBe(1);
      expect(await members()).toEqual(before);
      r.setRoom(true);
      await until(() => (r.got.get(0)?.length ?? 0) >= RECORDS);
      // Give a rejoin's re-read from offset 0 the time to show.
      await new Promise((res) => setTimeout(res, 1000));
      expect(r.got.get(0)).toEqual(everyRecordOnce);
      expect(await members()).toEqual(before);
      expect(r.failures).toEqual([]);
    } finally {
      await loop.stop();
      await admin.disconnect();
    }
  }, 60_000);

  it('after losing its session to a stalled event loop, rejoins and fetches on from where it was', async () => {
    const r = recorder();
    r.setRoom(false);
    const { loop, admin, members } = consumerOf(r.handler);
    await admin.connect();
    try {
      await loop.start();
      await until(() => r.fetches() >= 1);
      const first = await members();
      expect(first).toHaveLength(1);
      // Nothing runs on this thread meanwhile: no heartbeat can go out.
      for (const end = Date.now() + 1.5 * SESSION_MS; Date.now() < end;);
      r.setRoom(true);
      await until(() => (r.got.get(0)?.length ?? 0) >= RECORDS);
      await until(async () => {
        const now = await members();
        return now.length === 1 && now[0] !== first[0];
      });
      // Give a re-read from offset 0 the time to show.
      await new Promise((res) => setTimeout(res, 1500));
      expect(r.got.get(0)).toEqual(everyRecordOnce);
      expect(r.failures).toEqual([]);
    } finally {
      await loop.stop();
      await admin.disconnect();
    }
  }, 60_000);
});
