// A job reading and writing Avro through the real schema registry (Apicurio, TRIBUTARY_REGISTRY_URL)
// and the real Kafka broker, checked against Confluent's own client on both ends: its
// AvroSerializer writes the input (two schema versions interleaved, v2 adding a field with a
// default), its Consumer and AvroDeserializer read the output back. A payload that is not Avro and
// a message of a schema id the registry does not know reach the dead-letter topic byte for byte; a
// record the output schema refuses follows the sink's errorOutput; an output schema the subject's
// compatibility refuses fails the sink at open, naming the subject.
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confluentAvroRead, confluentAvroWrite } from '../../../../test/harness/confluent-python.ts';
import { JobExecutor } from '../../job/job-executor.ts';
import { SchemaRegistryClient } from '../../formats/registry/client.ts';
import { frame } from '../../formats/registry/wire.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { readTopic } from '../../testing/kafka-reader.ts';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../../testing/kafka-topics.ts';
import { validateGraph } from '../validate-graph.ts';

const { Kafka, logLevel } = kafkajs;

const v1 = JSON.stringify({
  type: 'record',
  name: 'Click',
  namespace: 'it',
  fields: [
    { name: 'user', type: 'string' },
    { name: 'n', type: 'long' },
  ],
});
const v2 = JSON.stringify({
  type: 'record',
  name: 'Click',
  namespace: 'it',
  fields: [
    { name: 'user', type: 'string' },
    { name: 'n', type: 'long' },
    { name: 'country', type: 'string', default: 'NL' },
  ],
});
/** The output: `n` as a 32-bit int, so a larger count does not encode. */
const out = JSON.stringify({
  type: 'record',
  name: 'Visit',
  namespace: 'it',
  fields: [
    { name: 'user', type: 'string' },
    { name: 'n', type: 'int' },
    { name: 'label', type: 'string' },
  ],
});

describe('kafka source and sink in Avro through the schema registry', () => {
  const url = process.env.TRIBUTARY_REGISTRY_URL!;
  const run = randomUUID().slice(0, 8);
  const bs = testBrokers();
  let kafka: KafkaClient;

  beforeAll(() => {
    kafka = new Kafka({ clientId: 'tributary-it', brokers: bs, logLevel: logLevel.NOTHING });
  });
  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
  });

  it('reads two interleaved writer versions as the reader schema, maps, writes Avro a Confluent reader reads', async () => {
    const input = `it-avro-in-${run}`;
    const output = `it-avro-out-${run}`;
    const dlq = `it-avro-dlq-${run}`;
    const unencoded = `it-avro-unencoded-${run}`;
    await createTopics(kafka, { [input]: 1, [output]: 1, [dlq]: 1, [unencoded]: 1 });
    const old = await confluentAvroWrite(url, `${input}-value`, v1, [
      { user: 'ann', n: 1 },
      { user: 'bob', n: 2 },
      { user: 'cy', n: 3 },
    ]);
    const neu = await confluentAvroWrite(url, `${input}-value`, v2, [
      { user: 'dee', n: 4, country: 'DE' },
      { user: 'eve', n: 5_000_000_000, country: 'FR' }, // beyond the output's int
      { user: 'fay', n: 6, country: 'BE' },
    ]);
    expect(neu[0]!.readUInt32BE(1)).not.toBe(old[0]!.readUInt32BE(1));
    const poison = Buffer.from('not avro at all');
    const unknownId = frame(2_000_000_000, Buffer.from([6, 0x61, 0x6e, 0x6e, 2]));
    const sent = [old[0]!, neu[0]!, old[1]!, poison, neu[1]!, unknownId, old[2]!, neu[2]!];
    const producer = inputProducer(kafka);
    await producer.connect();
    await producer.send({ topic: input, messages: sent.map((value, i) => ({ key: `k${i}`, value })) });
    await producer.disconnect();

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
            registry: { url, schema: { inline: v2 } },
            onError: 'deadLetter',
            deadLetterTopic: dlq,
          },
        },
      ],
      steps: [{ name: 'visits', from: 'clicks', map: { user: 'user', n: 'n', label: 'user + "@" + country' } }],
      sinks: [
        {
          name: 'out',
          from: 'visits',
          kafka: { brokers: bs, topic: output, format: 'avro', registry: { url, schema: { inline: out } } },
          errorOutput: 'refused',
        },
        { name: 'refused-sink', from: 'refused', kafka: { brokers: bs, topic: unencoded } },
      ],
    } as unknown as GraphSpec;
    const job = new JobExecutor(validateGraph(g), { parallelism: 1, logger: silentLogger() });
    const r = await job.run();
    expect(r.state).toBe('FINISHED');

    // By user: the at-least-once sink has up to 4 sends in flight, and a retried one (a fresh topic's leader not
    // known yet) may land after a later one; the source's order is registry-decoding.test.ts's.
    const written = await confluentAvroRead(bs, url, output, 5);
    const byUser = (a: { user: string }, b: { user: string }) => a.user.localeCompare(b.user);
    expect(written.map((w) => w.value as { user: string }).sort(byUser)).toEqual([
      { user: 'ann', n: 1, label: 'ann@NL' }, // v1 read as v2: the default
      { user: 'bob', n: 2, label: 'bob@NL' },
      { user: 'cy', n: 3, label: 'cy@NL' },
      { user: 'dee', n: 4, label: 'dee@DE' },
      { user: 'fay', n: 6, label: 'fay@BE' },
    ]);

    const letters = await confluentAvroRead(bs, url, dlq, 2, true);
    const reasonOf = (l: (typeof letters)[number]) =>
      Buffer.from(l.headers.find(([k]) => k === 'tributary.error.reason')![1], 'hex').toString();
    // By key: each dead letter is a send of its own, several may be in flight.
    const seen = letters.map((l) => [String(l.value), Buffer.from(l.key!, 'hex').toString(), reasonOf(l)]);
    expect(seen.sort((a, b) => a[1]!.localeCompare(b[1]!))).toEqual([
      [poison.toString('hex'), 'k3', 'format_decode'],
      [unknownId.toString('hex'), 'k5', 'schema_not_found'],
    ]);
    const failed = (await job.metrics.sourceRecordsFailed.get()).values.map((v) => [v.labels.reason, v.value]);
    expect(failed.sort()).toEqual([
      ['format_decode', 1],
      ['schema_not_found', 1],
    ]);

    // The source's fetches by id (v1, v2, the unknown one) and the sink's register, in the job's metrics.
    const calls = (await job.metrics.registryRequests.get()).values.map((v) => [v.labels.operation, v.labels.outcome]);
    expect(calls.map(String).sort()).toEqual(['register,ok', 'schema-by-id,404', 'schema-by-id,ok']);

    const refused = await readTopic(kafka, unencoded, { expected: 1, settleMs: 500 });
    expect(refused.map((x) => JSON.parse(x.value) as unknown)).toEqual([
      {
        step: 'out',
        code: 'TRIB_FORMAT_ENCODE',
        error: expect.stringContaining(`subject "${output}-value"`),
        record: { user: 'eve', n: 5_000_000_000, label: 'eve@FR' },
        // The record it was read as: the Avro bytes Confluent's serializer wrote.
        origin: expect.objectContaining({ source: 'clicks', offset: '4', value: neu[1]!.toString('base64') }),
      },
    ]);
  });

  it('writes and reads Protobuf (a record-named subject, the second message) and JSON Schema through Kafka', async () => {
    const proto = `it-proto-${run}`;
    const json = `it-jsonschema-${run}`;
    const back = `it-registry-back-${run}`;
    await createTopics(kafka, { [proto]: 1, [json]: 1, [back]: 1 });
    const dotProto =
      'syntax = "proto3";\npackage it.shop;\nmessage Refund {\n  string order_id = 1;\n}\nmessage Order {\n  string id = 1;\n  int64 cents = 2;\n}\n';
    const jsonSchema = JSON.stringify({
      type: 'object',
      properties: { id: { type: 'string' }, cents: { type: 'integer', minimum: 0 } },
      required: ['id', 'cents'],
    });
    const orders = [
      { id: 'o1', cents: 250 },
      { id: 'o2', cents: 2 ** 40 },
    ];
    const registry = (schema: string) => ({ url, schema: { inline: schema } });
    const write = {
      sources: [{ name: 'orders', collection: { records: orders } }],
      sinks: [
        {
          name: 'as-proto',
          from: 'orders',
          kafka: {
            brokers: bs,
            topic: proto,
            format: 'protobuf',
            registry: { ...registry(dotProto), subjectStrategy: 'topic-record', messageName: 'Order' },
          },
        },
        {
          name: 'as-json',
          from: 'orders',
          kafka: { brokers: bs, topic: json, format: 'json-schema', registry: registry(jsonSchema) },
        },
      ],
    } as unknown as GraphSpec;
    expect((await new JobExecutor(validateGraph(write), { parallelism: 1, logger: silentLogger() }).run()).state).toBe(
      'FINISHED',
    );
    const client = new SchemaRegistryClient({ url });
    try {
      // topic-record: the subject is the topic and the written message's full name.
      expect((await client.version(`${proto}-it.shop.Order`, 'latest')).schemaType).toBe('PROTOBUF');
    } finally {
      await client.close();
    }
    const source = (name: string, topic: string, format: string) => ({
      name,
      kafka: { brokers: bs, topic, groupId: `it-${name}-${run}`, bounded: 'latest', format, registry: { url } },
    });
    const read = {
      sources: [source('p', proto, 'protobuf'), source('j', json, 'json-schema')],
      sinks: ['p', 'j'].map((from) => ({ name: `back-${from}`, from, kafka: { brokers: bs, topic: back } })),
    } as unknown as GraphSpec;
    expect((await new JobExecutor(validateGraph(read), { parallelism: 1, logger: silentLogger() }).run()).state).toBe(
      'FINISHED',
    );
    const got = await readTopic(kafka, back, { expected: 4, settleMs: 500 });
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    expect(got.map((r) => JSON.parse(r.value) as { id: string }).sort(byId)).toEqual([
      orders[0],
      orders[0],
      orders[1],
      orders[1],
    ]);
  });

  it('fails a sink whose writer schema the subject refuses at open, naming the subject', async () => {
    const topic = `it-avro-incompatible-${run}`;
    await confluentAvroWrite(url, `${topic}-value`, v1, [{ user: 'ann', n: 1 }]);
    // A field without a default: data written with v1 cannot be read with it (BACKWARD refuses).
    const v3 = JSON.stringify({
      type: 'record',
      name: 'Click',
      namespace: 'it',
      fields: [{ name: 'required', type: 'int' }],
    });
    const g = {
      sources: [{ name: 'in', collection: { records: [{ required: 1 }] } }],
      sinks: [
        {
          name: 'out',
          from: 'in',
          kafka: { brokers: bs, topic, format: 'avro', registry: { url, schema: { inline: v3 } } },
        },
      ],
    } as unknown as GraphSpec;
    const job = new JobExecutor(validateGraph(g), { parallelism: 1, logger: silentLogger() });
    await expect(job.run()).rejects.toMatchObject({
      code: 'TRIB_REGISTRY_INCOMPATIBLE',
      message: expect.stringContaining(`sink "out" (slot 0): writer schema of subject "${topic}-value"`),
    });
  });
});
