// TEST-ONLY: the keyed-window job the real-runtime e2e tests drive, and its exactly-once
// reference: the input (record i of a known sequence, a producer loop), the graph (Kafka →
// keyBy user → 1 s tumbling window → count/sum → exactly-once Kafka sink), an output reader
// that keeps arrival wall times, and the comparison of the output with the reference computed
// from the produced records (same multiset: nothing lost, nothing twice).
import type { Kafka, Producer } from 'kafkajs';
import { ErrorCodes, OperatorError } from '../../../kube/errors.ts';
import { waitFor } from '../../../kube/testing/cluster.ts';
import { inputProducer } from '../../../../../runtime/src/testing/kafka-topics.ts';
import { readTopicWithJava } from '../../../../../test/harness/java-topic-reader.ts';

// The input producer is idempotent: a resent produce request must not duplicate input the reference counts once.
export { inputProducer };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export interface InputRecord {
  user: string;
  amount: number;
  ts: number;
}

/**
 * Record i of the input: `keys` users round-robin (×7 to spread them), event time base + 2i ms (each partition in
 * order).
 */
export const inputRecord =
  (base: number, keys: number) =>
  (i: number): InputRecord => ({ user: `u${(i * 7) % keys}`, amount: (i % 7) + 1, ts: base + 2 * i });

/** Records `topic` holds now: the sum over its partitions of log end minus log start. */
export async function topicRecordCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Sends records rec(0)..rec(n-1) of a bounded input at once, record i to partition (offset + i) % partitions
 * (`offset`: the records the topic holds already, so the spread goes on where it left off).
 */
export async function sendInput(
  kafka: Kafka,
  topic: string,
  partitions: number,
  rec: (i: number) => InputRecord,
  n: number,
  offset = 0,
): Promise<void> {
  const producer = inputProducer(kafka);
  await producer.connect();
  try {
    await producer.send({
      topic,
      messages: Array.from({ length: n }, (_, i) => {
        const r = rec(i);
        return { key: r.user, partition: (offset + i) % partitions, value: JSON.stringify(r) };
      }),
    });
  } finally {
    await producer.disconnect();
  }
}

export interface ProducerLoop {
  /** Records sent so far (record i went to partition i % partitions). */
  readonly sent: number;
  stop(): Promise<number>;
}

/** Sends `batch` records every `intervalMs` until stopped; returns the count on stop. */
export function produceLoop(
  producer: Producer,
  topic: string,
  partitions: number,
  rec: (i: number) => InputRecord,
  o: { batch?: number; intervalMs?: number; from?: number } = {},
): ProducerLoop {
  const batch = o.batch ?? 50;
  let next = o.from ?? 0;
  let producing = true;
  const loop = (async () => {
    while (producing) {
      const messages = Array.from({ length: batch }, (_, k) => {
        const i = next + k;
        const r = rec(i);
        return { key: r.user, partition: i % partitions, value: JSON.stringify(r) };
      });
      await producer.send({ topic, messages });
      next += batch;
      await sleep(o.intervalMs ?? 100);
    }
  })();
  return {
    get sent() {
      return next;
    },
    async stop() {
      producing = false;
      await loop;
      return next;
    },
  };
}

export interface Arrival<T> {
  at: number;
  v: T;
}

/**
 * Reads a topic from the beginning; `arrivals` keeps each record with the wall time its batch arrived.
 * The consumer is a group member for as long as the test runs, and a rejoin (a stalled event loop on a
 * loaded machine, a moved coordinator) re-delivers what it had not committed yet: each record is kept
 * once by its partition and offset, so only a record written twice to the topic counts twice.
 */
export async function readOutput<T>(
  kafka: Kafka,
  topic: string,
  groupId: string,
  o: { readUncommitted?: boolean } = {},
): Promise<{ arrivals: Arrival<T>[]; close(): Promise<void> }> {
  const arrivals: Arrival<T>[] = [];
  const seen = new Set<string>();
  const consumer = kafka.consumer({ groupId, readUncommitted: o.readUncommitted ?? false, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const at = Date.now();
      for (const m of batch.messages) {
        const where = `${batch.partition}@${m.offset}`;
        if (seen.has(where)) continue;
        seen.add(where);
        arrivals.push({ at, v: JSON.parse(m.value!.toString()) as T });
      }
    },
  });
  return { arrivals, close: () => consumer.disconnect() };
}

/** The 1 s tumbling count/sum per user of the keyed-window job (windowGraph). */
export interface WindowOut {
  user: string;
  window_start: number;
  n: number;
  amount: number;
}
export const canonWindow = (o: WindowOut) => `${o.user}|${o.window_start}|${o.n}|${o.amount}`;

/**
 * Kafka source with event times → [filter] → keyBy user → 1 s tumbling window → count/sum → exactly-once Kafka sink.
 */
export function windowGraph(o: { brokers: string; input: string; output: string; groupId: string; filter?: boolean }) {
  return {
    sources: [
      {
        name: 'in',
        kafka: {
          brokers: o.brokers,
          topic: o.input,
          groupId: o.groupId,
          startFrom: 'earliest',
          schema: { user: 'string', amount: 'double', ts: 'double' },
        },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '200ms' },
      },
    ],
    steps: [
      ...(o.filter ? [{ name: 'positive', from: 'in', filter: 'amount > 0.0' }] : []),
      { name: 'by-user', from: o.filter ? 'positive' : 'in', keyBy: 'user' },
      { name: 'per-1s', from: 'by-user', window: { tumbling: { size: '1s' } } },
      { name: 'totals', from: 'per-1s', aggregate: { n: 'count()', amount: 'sum(amount)' } },
    ],
    sinks: [
      {
        name: 'out',
        from: 'totals',
        kafka: { brokers: o.brokers, topic: o.output, key: 'user', delivery: 'exactly-once' },
      },
    ],
  };
}

/** One far-future record per partition: the watermark passes every real window, so all of them fire. */
export async function closeAllWindows(
  producer: Producer,
  topic: string,
  partitions: number,
  lastTs: number,
): Promise<void> {
  await producer.send({
    topic,
    messages: Array.from({ length: partitions }, (_, p) => ({
      key: 'flush',
      partition: p,
      value: JSON.stringify({ user: 'flush', amount: 1, ts: lastTs + 10_000 }),
    })),
  });
}

/** Reference output of windowGraph for input records 0..n-1 (sorted canonical lines). */
export function referenceWindows(n: number, rec: (i: number) => InputRecord): string[] {
  const expected = new Map<string, WindowOut>();
  for (let i = 0; i < n; i++) {
    const r = rec(i);
    const ws = Math.floor(r.ts / 1000) * 1000;
    const k = `${r.user}|${ws}`;
    const o = expected.get(k) ?? { user: r.user, window_start: ws, n: 0, amount: 0 };
    o.n++;
    o.amount += r.amount;
    expected.set(k, o);
  }
  return [...expected.values()].map(canonWindow).sort();
}

/**
 * Ends the input (stops the loop, closes every window), checks that the input topic holds exactly
 * the records sent (else the reference would not describe it, and the comparison would blame the
 * job for the test's input), waits for the reference's number of output windows plus 3 s
 * (duplicates would show by then) and compares the output with it. `extraInput`: records sent to
 * the topic besides the loop's (the reference's caller accounts for them).
 */
export async function finishAndCompare(o: {
  kafka: Kafka;
  loop: ProducerLoop;
  producer: Producer;
  extraInput?: number;
  topic: string;
  partitions: number;
  rec: (i: number) => InputRecord;
  reader: { arrivals: Arrival<WindowOut>[]; close(): Promise<void> };
}): Promise<{ n: number; want: string[]; got: string[]; check: ReturnType<typeof exactlyOnce> }> {
  const n = await o.loop.stop();
  await closeAllWindows(o.producer, o.topic, o.partitions, o.rec(n - 1).ts);
  await o.producer.disconnect();
  const sent = n + o.partitions + (o.extraInput ?? 0);
  const held = await topicRecordCount(o.kafka, o.topic);
  if (held !== sent)
    throw new OperatorError(
      ErrorCodes.TEST_HARNESS,
      `the input topic ${o.topic} holds ${held} records but ${sent} were sent: the test's input is not what its reference counts`,
    );
  const want = referenceWindows(n, o.rec);
  await waitFor(`${want.length} windows in the output`, () => o.reader.arrivals.length >= want.length, 90_000, 250);
  await sleep(3000);
  const got = o.reader.arrivals.map((a) => canonWindow(a.v)).sort();
  await o.reader.close();
  return { n, want, got, check: exactlyOnce(want, got) };
}

/**
 * Missing (first 5), unexpected (first 5: lines of `got` the reference does not hold, e.g. a
 * window with a wrong count), duplicate count and total of `got` against the reference `want`.
 */
export function exactlyOnce(
  want: readonly string[],
  got: readonly string[],
): { missing: string[]; unexpected: string[]; dups: number; count: number } {
  const gotSet = new Set(got);
  const wantSet = new Set(want);
  return {
    missing: want.filter((w) => !gotSet.has(w)).slice(0, 5),
    unexpected: [...gotSet].filter((g) => !wantSet.has(g)).slice(0, 5),
    dups: got.length - gotSet.size,
    count: got.length,
  };
}

/**
 * The output of `topic` as Kafka's own Java consumer reads it under read_committed (every partition
 * assigned, no group: the independent verdict, see test/harness/java-topic-reader.ts), canonical
 * window lines in the order read, and its exactlyOnce check against the reference `want`.
 */
export async function javaExactlyOnce(
  brokers: string,
  topic: string,
  want: readonly string[],
): Promise<{ java: string[]; javaCheck: ReturnType<typeof exactlyOnce> }> {
  const java = (await readTopicWithJava(brokers, topic, 'read_committed')).map((r) =>
    canonWindow(JSON.parse(r.value) as WindowOut),
  );
  return { java, javaCheck: exactlyOnce(want, java) };
}

/** A running input of the keyed-window job and the live output reader; `finish` is finishAndCompare's. */
export interface WindowInput {
  rec: (i: number) => InputRecord;
  reader: { arrivals: Arrival<WindowOut>[]; close(): Promise<void> };
  producer: Producer;
  loop: ProducerLoop;
  finish(): ReturnType<typeof finishAndCompare>;
}

/**
 * Starts the output reader (group `readerGroup`, from the beginning) and then the producer loop
 * of inputRecord(now, `keys`) into `input`, so no output is missed and the reference covers
 * every record sent.
 */
export async function startWindowInput(o: {
  kafka: Kafka;
  input: string;
  output: string;
  partitions: number;
  readerGroup: string;
  keys: number;
}): Promise<WindowInput> {
  const rec = inputRecord(Math.floor(Date.now() / 1000) * 1000, o.keys);
  const reader = await readOutput<WindowOut>(o.kafka, o.output, o.readerGroup);
  const producer = inputProducer(o.kafka);
  await producer.connect();
  const loop = produceLoop(producer, o.input, o.partitions, rec);
  const finish = () =>
    finishAndCompare({ kafka: o.kafka, loop, producer, topic: o.input, partitions: o.partitions, rec, reader });
  return { rec, reader, producer, loop, finish };
}
