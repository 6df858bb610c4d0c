// Against the real local Kafka broker: records that go wrong reach Kafka as they should, read
// back with a real consumer. A kafka sink's failing key follows onRecordError (fail: the job
// fails naming the sink and the key; skip: counted, not written; errorOutput: dead-lettered),
// never a message under a null key. A record without a valid timestamp reaches the source's
// dead-letter topic as it was read: its key, its value's exact bytes, its partition and offset;
// any dead letter of the source repeats the record's own headers byte for byte and in order, with
// ours last of their names, read back by Kafka's Java consumer (on both fetch paths: the slot's
// thread, a fetch thread).
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { readTopic } from '../../testing/kafka-reader.ts';
import { readTopicWithJava } from '../../../../test/harness/java-topic-reader.ts';
import { FETCH_THREAD_ENV } from './fetch-thread.ts';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../../testing/kafka-topics.ts';
import { validateGraph } from '../validate-graph.ts';

const { Kafka, logLevel } = kafkajs;

/** The headers a source's dead letter adds, in the order it writes them. */
const OUR_HEADERS = [
  'tributary.error.reason',
  'tributary.error.message',
  'tributary.source.topic',
  'tributary.source.partition',
  'tributary.source.offset',
  'tributary.source.name',
];

/** Source `in`: `topic` to its end, its poison records dead-lettered to `dlq`, event time from `ts`. */
function deadLetteringSource(brokers: string[], topic: string, dlq: string) {
  return {
    name: 'in',
    kafka: {
      brokers,
      topic,
      groupId: `it-${randomUUID()}`,
      bounded: 'latest',
      onError: 'deadLetter',
      deadLetterTopic: dlq,
    },
    timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '0s' },
  };
}

describe('record errors at Kafka', () => {
  let kafka: KafkaClient;
  const run = randomUUID().slice(0, 8);
  const bs = testBrokers();

  beforeAll(() => {
    kafka = new Kafka({ clientId: 'tributary-it', brokers: bs, logLevel: logLevel.NOTHING });
  });

  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
  });

  const records = [
    { id: 1, x: '10' },
    { id: 2, x: 'two' },
    { id: 3, x: '30' },
  ];
  const keyed = (topic: string, o: Partial<GraphSpec> & { errorOutput?: string } = {}): GraphSpec =>
    ({
      sources: [{ name: 'in', collection: { records } }],
      sinks: [
        {
          name: 'out',
          from: 'in',
          kafka: { brokers: bs, topic, key: 'string(int(x))', delivery: 'at-least-once' },
          ...(o.errorOutput ? { errorOutput: o.errorOutput } : {}),
        },
        ...(o.sinks ?? []),
      ],
      ...(o.onRecordError ? { onRecordError: o.onRecordError } : {}),
    }) as GraphSpec;

  it('a failing sink key fails the job under onRecordError: fail, naming the sink and the key', async () => {
    const topic = `it-key-fail-${run}`;
    await createTopics(kafka, { [topic]: 1 });
    const job = new JobExecutor(validateGraph(keyed(topic, { onRecordError: 'fail' })), {
      parallelism: 1,
      logger: silentLogger(),
    });
    await expect(job.run()).rejects.toMatchObject({
      code: 'TRIB_RECORD_FAILED',
      message: expect.stringMatching(/^step "out": key "string\(int\(x\)\)": .*int\(\).*record: \{"id":2,"x":"two"\}/),
    });
    // Nothing was written under a null key (the records before it may or may not have been sent).
    const got = await readTopic(kafka, topic, { expected: 2, timeoutMs: 5_000, settleMs: 500 });
    expect(got.filter((r) => r.key === null)).toEqual([]);
  });

  it('a failing sink key is counted and not written under skip, and dead-lettered with an errorOutput', async () => {
    const skipped = `it-key-skip-${run}`;
    const routed = `it-key-routed-${run}`;
    const dead = `it-key-dead-${run}`;
    await createTopics(kafka, { [skipped]: 1, [routed]: 1, [dead]: 1 });

    const job = new JobExecutor(validateGraph(keyed(skipped)), { parallelism: 1, logger: silentLogger() });
    expect((await job.run()).state).toBe('FINISHED');
    const counted = await job.metrics.expressionErrors.get();
    expect(counted.values.map((v) => [v.labels['step'], v.value])).toEqual([['out', 1]]);
    const out = await readTopic(kafka, skipped, { expected: 2, settleMs: 1_000 });
    expect(out.map((r) => [r.key, JSON.parse(r.value)])).toEqual([
      ['10', records[0]],
      ['30', records[2]],
    ]);

    const spec = keyed(routed, {
      errorOutput: 'unkeyed',
      sinks: [
        { name: 'dead', from: 'unkeyed', kafka: { brokers: bs, topic: dead, delivery: 'at-least-once' } },
      ] as GraphSpec['sinks'],
    });
    const job2 = new JobExecutor(validateGraph(spec), { parallelism: 1, logger: silentLogger() });
    expect((await job2.run()).state).toBe('FINISHED');
    expect((await readTopic(kafka, routed, { expected: 2, settleMs: 1_000 })).map((r) => r.key)).toEqual(['10', '30']);
    const letters = await readTopic(kafka, dead, { expected: 1, settleMs: 1_000 });
    expect(letters.map((r) => JSON.parse(r.value))).toEqual([
      {
        step: 'out',
        code: 'TRIB_EXPR_EVAL',
        error: expect.stringContaining('key "string(int(x))"'),
        record: records[1],
      },
    ]);
  });

  it('a record without a valid timestamp reaches the dead-letter topic with its key, exact value, partition and offset', async () => {
    const topic = `it-ts-in-${run}`;
    const dlq = `it-ts-dlq-${run}`;
    const output = `it-ts-out-${run}`;
    await createTopics(kafka, { [topic]: 2, [dlq]: 1, [output]: 1 });
    const producer = inputProducer(kafka);
    await producer.connect();
    const good = (i: number) => JSON.stringify({ id: i, ts: 1_700_000_000_000 + i });
    // Spacing and key order a re-encoding would not keep; one has no ts, one an unparsable ts.
    const noTs = '{ "id" :  2,   "note": "no time" }';
    const badTs = '{"ts": "yesterday",  "id": 4}';
    const sent = [
      { partition: 0, key: 'k1', value: good(1) },
      { partition: 0, key: 'k2', value: noTs },
      { partition: 1, key: 'k3', value: good(3) },
      { partition: 1, key: 'k4', value: badTs },
      { partition: 1, key: null, value: good(5) },
    ];
    for (const m of sent) await producer.send({ topic, messages: [m] });
    await producer.disconnect();
    const original = await readTopic(kafka, topic, { expected: sent.length, settleMs: 500 });
    const originOf = (value: string) => original.find((r) => r.value === value)!;

    const g = {
      sources: [deadLetteringSource(bs, topic, dlq)],
      sinks: [{ name: 'out', from: 'in', kafka: { brokers: bs, topic: output, delivery: 'at-least-once' } }],
    } as unknown as GraphSpec;
    const job = new JobExecutor(validateGraph(g), { parallelism: 1, logger: silentLogger() });
    const r = await job.run();
    expect(r.state).toBe('FINISHED');
    expect(r.recordsIn).toBe(3);

    const letters = await readTopic(kafka, dlq, { expected: 2, settleMs: 1_000 });
    const seen = letters
      .map((l) => ({
        key: l.key,
        value: l.value,
        reason: l.headers['tributary.error.reason'],
        topic: l.headers['tributary.source.topic'],
        partition: l.headers['tributary.source.partition'],
        offset: l.headers['tributary.source.offset'],
      }))
      .sort((a, b) => String(a.key).localeCompare(String(b.key)));
    expect(seen).toEqual(
      [noTs, badTs].map((value) => {
        const o = originOf(value);
        return { key: o.key, value, reason: 'timestamp', topic, partition: String(o.partition), offset: o.offset };
      }),
    );
    expect(seen.map((s) => s.key)).toEqual(['k2', 'k4']);
  });
  it("a dead letter carries the record's own headers byte for byte and in order, ours last (both fetch paths)", async () => {
    const topic = `it-hdr-in-${run}`;
    await createTopics(kafka, { [topic]: 1 });
    const producer = inputProducer(kafka);
    await producer.connect();
    const ts = 1_700_000_000_000;
    const sent = [
      // Unparsable: a binary value, a repeated name, and a name of ours (an earlier job's dead letter).
      {
        value: 'not json {',
        headers: {
          trace: Buffer.from([0x00, 0xff, 0x80, 0x0a, 0x2c, 0x3a]),
          tag: [Buffer.from('first'), Buffer.from('second')],
          'tributary.error.reason': 'upstream',
          empty: Buffer.alloc(0),
        },
      },
      { value: JSON.stringify({ id: 2, ts }), headers: { trace: Buffer.from([1]) } },
      // No timestamp: found after parsing (the reject path), headers from the poll's originals.
      {
        value: JSON.stringify({ id: 3 }),
        headers: { bin: Buffer.from([0xde, 0xad, 0xbe, 0xef]), tag: ['x', 'y', 'z'] },
      },
      { value: '[1]' }, // not an object, no headers: ours only
    ];
    for (const m of sent) await producer.send({ topic, messages: [{ key: 'k', ...m }] });
    await producer.disconnect();
    // The originals as Kafka's Java consumer reads them: the headers the dead letters must repeat.
    const original = await readTopicWithJava(bs.join(','), topic, 'read_uncommitted');
    expect(original.map((r) => r.headerList.length)).toEqual([5, 1, 4, 0]);

    const previous = process.env[FETCH_THREAD_ENV];
    try {
      for (const fetchThread of ['off', 'on']) {
        const dlq = `it-hdr-dlq-${fetchThread}-${run}`;
        await createTopics(kafka, { [dlq]: 1 });
        process.env[FETCH_THREAD_ENV] = fetchThread;
        const g = {
          sources: [deadLetteringSource(bs, topic, dlq)],
          sinks: [{ name: 'out', from: 'in', console: {} }],
        } as unknown as GraphSpec;
        const job = new JobExecutor(validateGraph(g), { parallelism: 1, logger: silentLogger() });
        const r = await job.run();
        expect(r.state).toBe('FINISHED');
        expect(r.recordsIn).toBe(1);

        const letters = await readTopicWithJava(bs.join(','), dlq, 'read_uncommitted');
        const hex = (l: { headerList: readonly { key: string; value: Buffer | null }[] }) =>
          l.headerList.map((h) => [h.key, h.value === null ? null : h.value.toString('hex')] as const);
        expect(letters.map((l) => l.headers['tributary.source.offset'])).toEqual(['0', '2', '3']);
        for (const l of letters) {
          const o = original[Number(l.headers['tributary.source.offset'])]!;
          expect(l.value).toBe(o.value);
          // Ours are the last value of each of our names; without them, the letter's headers are the original's.
          const rest = hex(l);
          const ours = OUR_HEADERS.map(
            (k) =>
              rest.splice(
                rest.findLastIndex(([n]) => n === k),
                1,
              )[0],
          );
          expect({ fetchThread, offset: o.offset, originals: rest }).toEqual({
            fetchThread,
            offset: o.offset,
            originals: hex(o),
          });
          expect(ours.map((h) => h?.[0])).toEqual(OUR_HEADERS);
          expect(ours.slice(2).map((h) => Buffer.from(h?.[1] ?? '', 'hex').toString())).toEqual([
            topic,
            '0',
            String(o.offset),
            'in',
          ]);
        }
        // The clash: the earlier reason first, ours last (Java's lastHeader() reads ours).
        expect(
          letters[0]!.headerList.filter((h) => h.key === 'tributary.error.reason').map((h) => String(h.value)),
        ).toEqual(['upstream', 'invalid_json']);
        expect(letters.map((l) => l.headers['tributary.error.reason'])).toEqual([
          'invalid_json',
          'timestamp',
          'not_an_object',
        ]);
      }
    } finally {
      if (previous === undefined) delete process.env[FETCH_THREAD_ENV];
      else process.env[FETCH_THREAD_ENV] = previous;
    }
  });
});
