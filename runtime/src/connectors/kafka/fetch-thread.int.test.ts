// A Kafka source's fetch thread against the real broker, through the interface the source
// drives: every record from its seek offset, in order, with the slot's room holding fetching
// back; a paused partition is not fetched until resumed; a stop reports no failure; a consumer that
// cannot start fails the start; a thread that dies fails the source.
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../telemetry/logger.ts';
import { createTopics, deleteTopicsContaining, testBrokers } from '../../testing/kafka-topics.ts';
import { recorder, until, writeNumbered } from '../../testing/fetch-recorder.ts';
import type { ConsumerLoopOptions } from './consumer-loop.ts';
import { FetchThread } from './fetch-thread.ts';

const { Kafka, logLevel } = kafkajs;
const PER_PARTITION = 3000;

/** A fetch-thread script that reports started, then after 50 ms runs `then`: a thread failure on demand. */
const startedThenWorker = (then: string): URL =>
  new URL(
    `data:text/javascript,${encodeURIComponent(
      `import { parentPort } from 'node:worker_threads'; parentPort.postMessage({ kind: 'started' }); setTimeout(() => { ${then}; }, 50);`,
    )}`,
  );

describe('kafka fetch thread (real Kafka)', () => {
  const run = randomUUID().slice(0, 8);
  const topic = `it-fetch-thread-${run}`;
  const brokers = testBrokers();
  let kafka: KafkaClient;
  const loop = (seeks: [number, bigint][], on = topic): ConsumerLoopOptions => ({
    topic: on,
    brokers,
    groupId: `it-fetch-thread-${randomUUID()}`,
    seeks,
  });

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'it-fetch-thread', brokers, logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [topic]: 2 });
    for (const p of [0, 1]) await writeNumbered(kafka, topic, p, 0, PER_PARTITION);
  });

  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
  });

  it('hands over every record from its seek offset, in order; no room holds the fetching back', async () => {
    const r = recorder();
    r.setRoom(false);
    const t = new FetchThread(
      loop([
        [0, 100n],
        [1, 0n],
      ]),
      'it',
      r.handler,
      silentLogger(),
      'slot 0',
    );
    await t.start();
    await until(() => r.fetches() >= 2);
    await new Promise((res) => setTimeout(res, 1000));
    // Two fetches in flight, none acknowledged: the thread waits for the slot.
    expect(r.fetches()).toBe(2);
    r.setRoom(true);
    await until(() => (r.got.get(0)?.length ?? 0) + (r.got.get(1)?.length ?? 0) === 2 * PER_PARTITION - 100);
    await t.stop();
    const want = (from: number) => Array.from({ length: PER_PARTITION - from }, (_, i) => BigInt(from + i));
    expect(r.got.get(0)).toEqual(want(100));
    expect(r.got.get(1)).toEqual(want(0));
    expect(r.failures).toEqual([]);
  });

  it('does not fetch a paused partition until it is resumed; what was fetched before the pause is handed over', async () => {
    const paused = `it-fetch-thread-pause-${run}`;
    await createTopics(kafka, { [paused]: 2 });
    for (const p of [0, 1]) await writeNumbered(kafka, paused, p, 0, PER_PARTITION);
    const r = recorder();
    const count = (p: number): number => r.got.get(p)?.length ?? 0;
    // Fetching is under way when the pause comes: two fetches handed over, the thread waiting.
    r.setRoom(false);
    const t = new FetchThread(
      loop(
        [
          [0, 0n],
          [1, 0n],
        ],
        paused,
      ),
      'it',
      r.handler,
      silentLogger(),
      'slot 0',
    );
    await t.start();
    await until(() => r.fetches() >= 2);
    t.setPaused([1]);
    r.setRoom(true);
    await until(() => count(0) === PER_PARTITION);
    // New records in both partitions: the running one gets them, the paused one does not.
    for (const p of [0, 1]) await writeNumbered(kafka, paused, p, PER_PARTITION, PER_PARTITION + 500);
    await until(() => count(0) === PER_PARTITION + 500);
    const before = count(1);
    await new Promise((res) => setTimeout(res, 1000));
    expect(count(1)).toBe(before);
    expect(before).toBeLessThan(PER_PARTITION + 500);
    t.setPaused([]);
    await until(() => count(1) === PER_PARTITION + 500);
    await t.stop();
    expect(r.got.get(1)).toEqual(Array.from({ length: PER_PARTITION + 500 }, (_, i) => BigInt(i)));
    expect(r.failures).toEqual([]);
  });

  it('a consumer that cannot reach its brokers fails the start with the connection error', async () => {
    const r = recorder();
    const t = new FetchThread(
      { ...loop([[0, 0n]]), brokers: ['127.0.0.1:1'] },
      'it',
      r.handler,
      silentLogger(),
      'source "events" (slot 3)',
    );
    await expect(t.start()).rejects.toThrow(/ECONNREFUSED/);
    await t.stop();
  }, 60_000);

  it('a fetch thread that dies after its start fails the source, naming it; a stop after that returns', async () => {
    const r = recorder();
    // A fetch thread that starts, then exits: the failure a crashed or killed thread produces.
    const dying = startedThenWorker('process.exit(3)');
    const t = new FetchThread(loop([[0, 0n]]), 'it', r.handler, silentLogger(), 'source "events" (slot 3)', {
      entry: dying,
    });
    await t.start();
    await until(() => r.failures.length > 0);
    expect(r.failures[0]).toMatchObject({
      code: 'TRIB_CONNECTOR_FAILED',
      message: 'source "events" (slot 3): the kafka fetch thread exited with code 3',
    });
    await t.stop();
    expect(r.failures).toHaveLength(1);
  });

  it('a fetch thread that throws fails the source once, with the thrown error, not its exit', async () => {
    const r = recorder();
    const throwing = startedThenWorker("throw new Error('boom in the fetch thread')");
    const t = new FetchThread(loop([[0, 0n]]), 'it', r.handler, silentLogger(), 'source "events" (slot 1)', {
      entry: throwing,
    });
    await t.start();
    await until(() => r.failures.length > 0);
    await new Promise((res) => setTimeout(res, 200)); // the exit that follows the error
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatchObject({
      code: 'TRIB_CONNECTOR_FAILED',
      message: 'source "events" (slot 1): the kafka fetch thread failed: boom in the fetch thread',
    });
    await t.stop();
  });
});
