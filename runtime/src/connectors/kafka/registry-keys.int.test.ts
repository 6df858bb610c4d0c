// Kafka message keys in Avro through the real schema registry (Apicurio, TRIBUTARY_REGISTRY_URL)
// and the real broker, checked against Confluent's own client on both ends: its AvroSerializer
// writes keys (subject <topic>-key) and values, a job filters and maps on the decoded key and
// writes Avro keys and values through an at-least-once and an exactly-once sink, and Confluent's
// Consumer and AvroDeserializer read both outputs back, keys included. A message without a key
// reads as a null key; a key that is not Avro and a key of an unknown schema id reach the
// dead-letter topic byte for byte; a key the output key schema refuses follows errorOutput. Avro
// `"string"` keys pass through unchanged, and a writer key schema the key subject refuses fails the
// sink at open. Protobuf and JSON Schema keys: registry-keys-confluent.int.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  confluentAvroRead,
  confluentAvroReadKeyed,
  confluentAvroWrite,
} from '../../../../test/harness/confluent-python.ts';
import { JobExecutor } from '../../job/job-executor.ts';
import { frame } from '../../formats/registry/wire.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { readTopic } from '../../testing/kafka-reader.ts';
import { createTopics, inputProducer } from '../../testing/kafka-topics.ts';
import { kafkaTestRun } from '../../testing/kafka-test-run.ts';
import { validateGraph } from '../validate-graph.ts';

const clickKey = JSON.stringify({
  type: 'record',
  name: 'ClickKey',
  namespace: 'it',
  fields: [
    { name: 'user', type: 'string' },
    { name: 'shard', type: 'int' },
  ],
});
const click = JSON.stringify({
  type: 'record',
  name: 'Click',
  namespace: 'it',
  fields: [{ name: 'page', type: 'string' }],
});
const visitKey = JSON.stringify({
  type: 'record',
  name: 'VisitKey',
  namespace: 'it',
  fields: [{ name: 'user', type: 'string' }],
});
const visit = JSON.stringify({
  type: 'record',
  name: 'Visit',
  namespace: 'it',
  fields: [
    { name: 'page', type: 'string' },
    { name: 'shard', type: 'int' },
  ],
});

describe('kafka source and sink with Avro keys through the schema registry', () => {
  const url = process.env.TRIBUTARY_REGISTRY_URL!;
  const { run, bs, kafka } = kafkaTestRun();

  it('reads Confluent-written Avro keys, filters and maps on them, writes Avro keys Confluent reads back', async () => {
    const input = `it-keys-in-${run}`;
    const alo = `it-keys-alo-${run}`;
    const eos = `it-keys-eos-${run}`;
    const dlq = `it-keys-dlq-${run}`;
    const refused = `it-keys-refused-${run}`;
    await createTopics(kafka, { [input]: 2, [alo]: 1, [eos]: 1, [dlq]: 1, [refused]: 1 });
    const users = [
      { user: 'ann', shard: 1 },
      { user: 'bob', shard: 2 },
      { user: 'cy', shard: 1 },
      { user: 'dee', shard: 3 },
    ];
    const keys = await confluentAvroWrite(url, `${input}-key`, clickKey, users);
    const pages = ['home', 'cart', 'pay', 'exit', 'anon', 'poison', 'unknown'].map((page) => ({ page }));
    const values = await confluentAvroWrite(url, `${input}-value`, click, pages);
    expect(keys[0]!.readUInt32BE(1)).not.toBe(values[0]!.readUInt32BE(1)); // two subjects, two schemas
    const poisonKey = Buffer.from('k-poison'); // a plain string key: not the wire format
    const unknownKey = frame(2_000_000_000, Buffer.from([6, 0x61, 0x6e, 0x6e, 2]));
    const messageKeys = [...keys, null, poisonKey, unknownKey];
    const producer = inputProducer(kafka);
    await producer.connect();
    await producer.send({
      topic: input,
      messages: values.map((value, i) => ({ key: messageKeys[i] ?? null, value, partition: i % 2 })),
    });
    await producer.disconnect();

    const sink = (topic: string, delivery: string, errorOutput: string) => ({
      name: `to-${delivery}`,
      from: 'visits',
      kafka: {
        brokers: bs,
        topic,
        delivery,
        format: 'avro',
        keyFormat: 'avro',
        key: "{'user': user}",
        registry: { url, schema: { inline: visit }, keySchema: { inline: visitKey } },
      },
      errorOutput,
    });
    const g = {
      sources: [
        {
          name: 'clicks',
          kafka: {
            brokers: bs,
            topic: input,
            groupId: `it-${run}`,
            bounded: 'latest',
            format: 'avro',
            keyFormat: 'avro',
            registry: { url, schema: { inline: click }, keySchema: { inline: clickKey } },
            onError: 'deadLetter',
            deadLetterTopic: dlq,
          },
        },
      ],
      steps: [
        { name: 'kept', from: 'clicks', filter: "key == null || key.user != 'bob'" },
        {
          name: 'visits',
          from: 'kept',
          map: { user: 'key == null ? null : key.user', page: 'page', shard: 'key == null ? 0 : key.shard' },
        },
      ],
      sinks: [
        sink(alo, 'at-least-once', 'refused-alo'),
        sink(eos, 'exactly-once', 'refused-eos'),
        ...['alo', 'eos'].map((d) => ({
          name: `refused-${d}-sink`,
          from: `refused-${d}`,
          kafka: { brokers: bs, topic: refused },
        })),
      ],
    } as unknown as GraphSpec;
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-keys-'));
    let job: JobExecutor;
    try {
      job = new JobExecutor(validateGraph(g), {
        parallelism: 1,
        logger: silentLogger(),
        jobName: `keys-${run}`,
        checkpointing: { stateDir },
      });
      expect((await job.run()).state).toBe('FINISHED');
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }

    // Confluent's reader decodes each key with the schema its id names: the keys are exactly what the job made.
    const byUser = (a: { key: unknown }, b: { key: unknown }) =>
      JSON.stringify(a.key).localeCompare(JSON.stringify(b.key));
    for (const topic of [alo, eos]) {
      const written = await confluentAvroReadKeyed(bs, url, topic, 3);
      expect(written.map(({ key, value }) => ({ key, value })).sort(byUser), topic).toEqual([
        { key: { user: 'ann' }, value: { page: 'home', shard: 1 } },
        { key: { user: 'cy' }, value: { page: 'pay', shard: 1 } },
        { key: { user: 'dee' }, value: { page: 'exit', shard: 3 } },
      ]);
    }

    // The message without a key read as a null key; its user (null) is no VisitKey: refused by the key's encoding.
    const refusals = await readTopic(kafka, refused, { expected: 2, settleMs: 500 });
    expect(
      refusals.map((x) => JSON.parse(x.value) as { step: string }).sort((a, b) => a.step.localeCompare(b.step)),
    ).toEqual(
      ['to-at-least-once', 'to-exactly-once'].map((step) => ({
        step,
        code: 'TRIB_FORMAT_ENCODE',
        error: expect.stringContaining(`-key"`),
        record: { user: null, page: 'anon', shard: 0 },
        origin: expect.objectContaining({ source: 'clicks', value: values[4]!.toString('base64') }),
      })),
    );

    const letters = await confluentAvroRead(bs, url, dlq, 2, true);
    const reasonOf = (l: (typeof letters)[number]) =>
      Buffer.from(l.headers.find(([k]) => k === 'tributary.error.reason')![1], 'hex').toString();
    const seen = letters.map((l) => [l.key, String(l.value), reasonOf(l)]);
    expect(seen.sort((a, b) => String(a[1]).localeCompare(String(b[1])))).toEqual(
      [
        [poisonKey.toString('hex'), values[5]!.toString('hex'), 'key_format_decode'],
        [unknownKey.toString('hex'), values[6]!.toString('hex'), 'key_schema_not_found'],
      ].sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
    );
    const failed = (await job!.metrics.sourceRecordsFailed.get()).values.map((v) => [v.labels.reason, v.value]);
    expect(failed.sort()).toEqual([
      ['key_format_decode', 1],
      ['key_schema_not_found', 1],
    ]);
  });

  it('reads and writes primitive Avro keys (a string), passing them through unchanged', async () => {
    const input = `it-keys-string-in-${run}`;
    const output = `it-keys-string-out-${run}`;
    await createTopics(kafka, { [input]: 1, [output]: 1 });
    const keys = await confluentAvroWrite(url, `${input}-key`, '"string"', ['u-1', 'u-2']);
    const values = await confluentAvroWrite(url, `${input}-value`, click, [{ page: 'a' }, { page: 'b' }]);
    const producer = inputProducer(kafka);
    await producer.connect();
    await producer.send({ topic: input, messages: values.map((value, i) => ({ key: keys[i]!, value })) });
    await producer.disconnect();
    const registry = { url, schema: { inline: click }, keySchema: { inline: '"string"' } };
    const g = {
      sources: [
        {
          name: 'in',
          kafka: {
            brokers: bs,
            topic: input,
            groupId: `it-string-${run}`,
            bounded: 'latest',
            format: 'avro',
            keyFormat: 'avro',
            keyField: 'id',
            registry,
          },
        },
      ],
      steps: [{ name: 'pages', from: 'in', map: { id: 'id', page: "page + '!'" } }],
      sinks: [
        {
          name: 'out',
          from: 'pages',
          kafka: { brokers: bs, topic: output, format: 'avro', keyFormat: 'avro', key: 'id', registry },
        },
      ],
    } as unknown as GraphSpec;
    const job = new JobExecutor(validateGraph(g), { parallelism: 1, logger: silentLogger() });
    expect((await job.run()).state).toBe('FINISHED');
    const written = await confluentAvroReadKeyed(bs, url, output, 2);
    expect(
      written.map(({ key, value }) => ({ key, value })).sort((a, b) => String(a.key).localeCompare(String(b.key))),
    ).toEqual([
      { key: 'u-1', value: { page: 'a!' } },
      { key: 'u-2', value: { page: 'b!' } },
    ]);
  });

  it('fails a sink whose writer key schema the key subject refuses at open, naming the key subject', async () => {
    const topic = `it-keys-incompatible-${run}`;
    await confluentAvroWrite(url, `${topic}-key`, clickKey, [{ user: 'ann', shard: 1 }]);
    // A field without a default: keys written with ClickKey cannot be read with it (BACKWARD refuses).
    const incompatible = JSON.stringify({
      type: 'record',
      name: 'ClickKey',
      namespace: 'it',
      fields: [{ name: 'tenant', type: 'int' }],
    });
    const g = {
      sources: [{ name: 'in', collection: { records: [{ page: 'home', tenant: 1 }] } }],
      sinks: [
        {
          name: 'out',
          from: 'in',
          kafka: {
            brokers: bs,
            topic,
            format: 'avro',
            keyFormat: 'avro',
            key: "{'tenant': tenant}",
            registry: { url, schema: { inline: click }, keySchema: { inline: incompatible } },
          },
        },
      ],
    } as unknown as GraphSpec;
    const job = new JobExecutor(validateGraph(g), { parallelism: 1, logger: silentLogger() });
    await expect(job.run()).rejects.toMatchObject({
      code: 'TRIB_REGISTRY_INCOMPATIBLE',
      message: expect.stringContaining(`sink "out" (slot 0): writer key schema of subject "${topic}-key"`),
    });
  });
});
