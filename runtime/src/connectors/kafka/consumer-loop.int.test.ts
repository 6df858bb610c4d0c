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
import { ConsumerLoop } from './consumer-loop.ts';

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

  type Recorder = ReturnType<typeof recorder>;

  /**
   * A loop over the topic from offset 0, in a group of its own, stopped at the first fetch with
   * no room: `body` gets the recorder, the member that fetched and the group's member ids, and
   * returns the member expected at the end. Then every record must have arrived once (with time
   * for a re-read from offset 0 to show), that member must be the group's only one, and nothing
   * failed.
   */
  async function waitingConsumer(
    body: (r: Recorder, first: string, members: () => Promise<string[]>) => Promise<string>,
  ): Promise<void> {
    const groupId = `it-consumer-loop-${randomUUID()}`;
    const r = recorder();
    r.setRoom(false);
    const loop = new ConsumerLoop(
      kafka,
      { topic, brokers, groupId, seeks: [[0, 0n]], sessionTimeoutMs: SESSION_MS },
      r.handler,
    );
    const admin = kafka.admin();
    const members = async (): Promise<string[]> =>
      (await admin.describeGroups([groupId])).groups[0]?.members.map((m) => m.memberId) ?? [];
    await admin.connect();
    try {
      await loop.start();
      await until(() => r.fetches() >= 1);
      const first = await members();
      expect(first).toHaveLength(1);
      const last = await body(r, first[0] as string, members);
      await until(() => (r.got.get(0)?.length ?? 0) >= RECORDS);
      await new Promise((res) => setTimeout(res, 1500));
      expect(r.got.get(0)).toEqual(Array.from({ length: RECORDS }, (_, i) => BigInt(i)));
      expect(await members()).toEqual([last]);
      expect(r.failures).toEqual([]);
    } finally {
      await loop.stop();
      await admin.disconnect();
    }
  }

  it('stays in its group while room is withheld past the session timeout, then fetches on without reading again', async () => {
    await waitingConsumer(async (r, first, members) => {
      // Three session timeouts with the batch waiting for room.
      await new Promise((res) => setTimeout(res, 3 * SESSION_MS));
      expect(r.fetches()).toBe(1);
      expect(await members()).toEqual([first]);
      r.setRoom(true);
      return first;
    });
  }, 60_000);

  it('after losing its session to a stalled event loop, rejoins and fetches on from where it was', async () => {
    await waitingConsumer(async (r, first, members) => {
      // Nothing runs on this thread meanwhile: no heartbeat can go out.
      for (const end = Date.now() + 1.5 * SESSION_MS; Date.now() < end;);
      r.setRoom(true);
      // The session was lost: the member that fetches on is a new one.
      let now: string[] = [];
      await until(async () => {
        now = await members();
        return now.length === 1 && now[0] !== first;
      });
      return now[0] as string;
    });
  }, 60_000);
});
