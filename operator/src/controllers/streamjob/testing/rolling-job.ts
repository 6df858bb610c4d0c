// TEST-ONLY: a keyed job without event time for the live-rescale e2e tests (its reference needs no
// window to fire; the event-time case is window-job.ts's windowGraph). The window job's
// input (window-job.ts: record i, a producer loop) → keyBy user → a rolling count per user → an
// exactly-once Kafka sink. Its reference needs no order: each user's counts are 1..(its records),
// each once, whatever order its records (spread over partitions) were counted in — a record lost
// shows as a missing count, one counted twice as a duplicated count.
import type { Kafka } from 'kafkajs';
import { ErrorCodes, OperatorError } from '../../../kube/errors.ts';
import { waitFor } from '../../../kube/testing/cluster.ts';
import { readTopicWithJava } from '../../../../../test/harness/java-topic-reader.ts';
import {
  exactlyOnce,
  inputProducer,
  inputRecord,
  produceLoop,
  readOutput,
  topicRecordCount,
  windowGraph,
  type InputRecord,
} from './window-job.ts';

export interface RollingOut {
  user: string;
  n: number;
}

const canon = (o: RollingOut) => `${o.user}|${o.n}`;

/** windowGraph's source (without its event time) and exactly-once sink, a rolling count per user between them. */
export function rollingGraph(o: { brokers: string; input: string; output: string; groupId: string }) {
  const windowed = windowGraph(o);
  const sources = windowed.sources.map(({ timestamp: _eventTime, ...source }) => source);
  return {
    sources,
    steps: [
      { name: 'by-user', from: 'in', keyBy: 'user' },
      { name: 'counts', from: 'by-user', aggregate: { n: 'count()' } },
    ],
    sinks: windowed.sinks.map((sink) => ({ ...sink, from: 'counts' })),
  };
}

/** What rollingGraph writes for input records 0..n−1: per user, counts 1..its records (sorted canonical lines). */
export function referenceCounts(n: number, rec: (i: number) => InputRecord): string[] {
  const per = new Map<string, number>();
  for (let i = 0; i < n; i++) per.set(rec(i).user, (per.get(rec(i).user) ?? 0) + 1);
  const out: string[] = [];
  for (const [user, c] of per) for (let k = 1; k <= c; k++) out.push(canon({ user, n: k }));
  return out.sort();
}

/**
 * Starts the output reader (read_committed, from the beginning) and then the producer loop of the window job's
 * input; `finish` stops the input, checks the topic holds what was sent, and compares what the reader got.
 */
export async function startRollingInput(o: {
  kafka: Kafka;
  input: string;
  output: string;
  partitions: number;
  readerGroup: string;
  keys: number;
}) {
  const rec = inputRecord(Math.floor(Date.now() / 1000) * 1000, o.keys);
  const reader = await readOutput<RollingOut>(o.kafka, o.output, o.readerGroup);
  let producer = inputProducer(o.kafka);
  await producer.connect();
  let loop = produceLoop(producer, o.input, o.partitions, rec);
  /**
   * The input goes on over `partitions` partitions (the topic grew to that many), from the record it was at. A new
   * producer: kafkajs drops, without an error, what it sends to a partition its metadata does not know yet.
   */
  const spread = async (partitions: number): Promise<void> => {
    const at = await loop.stop();
    await producer.disconnect();
    producer = inputProducer(o.kafka);
    await producer.connect();
    loop = produceLoop(producer, o.input, partitions, rec, { from: at });
  };
  const finish = async () => {
    const n = await loop.stop();
    await producer.disconnect();
    const held = await topicRecordCount(o.kafka, o.input);
    if (held !== n)
      throw new OperatorError(
        ErrorCodes.TEST_HARNESS,
        `the input topic ${o.input} holds ${held} records but ${n} were sent: the reference would not be the input's`,
      );
    const want = referenceCounts(n, rec);
    await waitFor(`${want.length} counts in the output`, () => reader.arrivals.length >= want.length, 90_000, 250);
    await new Promise((r) => setTimeout(r, 3000));
    const got = reader.arrivals.map((a) => canon(a.v)).sort();
    await reader.close();
    return { n, want, got, check: exactlyOnce(want, got) };
  };
  return {
    rec,
    reader,
    get producer() {
      return producer;
    },
    get loop() {
      return loop;
    },
    spread,
    finish,
  };
}

/** The output as Kafka's Java read_committed reader sees it, against `want`. */
export async function javaRollingExactlyOnce(brokers: string, topic: string, want: readonly string[]) {
  const java = (await readTopicWithJava(brokers, topic, 'read_committed')).map((r) =>
    canon(JSON.parse(r.value) as RollingOut),
  );
  return { java, javaCheck: exactlyOnce(want, java) };
}
