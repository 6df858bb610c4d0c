// Against the real local Kafka broker: records that go wrong reach Kafka as they should, read
// back with a real consumer. A kafka sink's failing key follows onRecordError (fail: the job
// fails naming the sink and the key; skip: counted, not written; errorOutput: dead-lettered),
// never a message under a null key. A record without a valid timestamp reaches the source's
// dead-letter topic as it was read: its key, its value's exact bytes, its partition and offset.
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobExecutor } from '../../exec/job-executor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { readTopic } from '../../testing/kafka-reader.ts';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../../testing/kafka-topics.ts';
import { validateGraph } from '../validate-graph.ts';

const { Kafka, logLevel } = kafkajs;

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
      sources: [
        {
          name: 'in',
          kafka: {
            brokers: bs,
            topic,
            groupId: `it-${randomUUID()}`,
            bounded: 'latest',
            onError: 'deadLetter',
            deadLetterTopic: dlq,
          },
          timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '0s' },
        },
      ],
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
});
