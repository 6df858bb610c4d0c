// Protobuf and JSON Schema message keys through Kafka against Confluent's own serdes on both ends
// (Python confluent-kafka, test/python/confluent_serde.py, subjects <topic>-key and -value): its
// ProtobufSerializer and JSONSerializer write keys and values, a job reads them (`keyFormat`),
// maps on the key and writes keys and values again in the same formats, and Confluent's
// deserializers read both back. Avro keys: registry-keys.int.test.ts.
import { describe, expect, it } from 'vitest';
import { confluentAvroRead, confluentSerde } from '../../../../test/harness/confluent-python.ts';
import { JobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { createTopics, inputProducer } from '../../testing/kafka-topics.ts';
import { kafkaTestRun } from '../../testing/kafka-test-run.ts';
import { validateGraph } from '../validate-graph.ts';

describe("Protobuf and JSON Schema keys through Kafka, Confluent's serdes on both ends", () => {
  const url = process.env.TRIBUTARY_REGISTRY_URL!;
  const { run, bs, kafka } = kafkaTestRun();

  it("Protobuf keys: Confluent's ProtobufSerializer writes them, a job rewrites them, its deserializer reads them", async () => {
    const input = `it-keys-proto-in-${run}`;
    const output = `it-keys-proto-out-${run}`;
    await createTopics(kafka, { [input]: 1, [output]: 1 });
    const orderKey = 'syntax = "proto3";\npackage it.keys;\nmessage OrderKey { string id = 1; int32 region = 2; }\n';
    const order = 'syntax = "proto3";\npackage it.keys;\nmessage Order { int64 cents = 1; }\n';
    const hex = (lines: string[]) => lines.map((l) => Buffer.from(l, 'hex'));
    const ids = [
      { id: 'o1', region: 1 },
      { id: 'o2', region: 2 },
    ];
    const keys = hex(await confluentSerde('write', 'protobuf', url, `${input}-key`, orderKey, ids));
    const values = hex(
      await confluentSerde('write', 'protobuf', url, `${input}-value`, order, [{ cents: 250 }, { cents: 7 }]),
    );
    const producer = inputProducer(kafka);
    await producer.connect();
    await producer.send({ topic: input, messages: values.map((value, i) => ({ key: keys[i]!, value })) });
    await producer.disconnect();
    const g = {
      sources: [
        {
          name: 'orders',
          kafka: {
            brokers: bs,
            topic: input,
            groupId: `it-proto-${run}`,
            bounded: 'latest',
            format: 'protobuf',
            keyFormat: 'protobuf',
            registry: { url },
          },
        },
      ],
      steps: [{ name: 'priced', from: 'orders', map: { id: 'key.id', region: 'key.region', cents: 'cents * 2' } }],
      sinks: [
        {
          name: 'out',
          from: 'priced',
          kafka: {
            brokers: bs,
            topic: output,
            format: 'protobuf',
            keyFormat: 'protobuf',
            key: "{'id': id, 'region': region + 10}",
            registry: { url, schema: { inline: order }, keySchema: { inline: orderKey } },
          },
        },
      ],
    } as unknown as GraphSpec;
    expect((await new JobExecutor(validateGraph(g), { parallelism: 1, logger: silentLogger() }).run()).state).toBe(
      'FINISHED',
    );
    const raw = await confluentAvroRead(bs, url, output, 2, true);
    const bytes = (h: string) => Buffer.from(h, 'hex');
    const readKeys = await confluentSerde(
      'read',
      'protobuf',
      url,
      `${output}-key`,
      orderKey,
      raw.map((r) => bytes(r.key!)),
    );
    const readValues = await confluentSerde(
      'read',
      'protobuf',
      url,
      `${output}-value`,
      order,
      raw.map((r) => bytes(String(r.value))),
    );
    // Protobuf's JSON mapping: int64 as a string.
    const pairs = readKeys.map((k, i) => [JSON.parse(k) as unknown, JSON.parse(readValues[i]!) as unknown]);
    expect(pairs.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
      [{ id: 'o1', region: 11 }, { cents: '500' }],
      [{ id: 'o2', region: 12 }, { cents: '14' }],
    ]);
  }, 120_000);

  it("JSON Schema keys: Confluent's JSONSerializer writes them, a job rewrites them, its deserializer reads them", async () => {
    const input = `it-keys-json-in-${run}`;
    const output = `it-keys-json-out-${run}`;
    await createTopics(kafka, { [input]: 1, [output]: 1 });
    // The key closed (a key with another field does not encode); the value open: the record keeps its key field `k`.
    const orderKey = JSON.stringify({
      type: 'object',
      properties: { id: { type: 'string' }, region: { type: 'integer' } },
      required: ['id', 'region'],
      additionalProperties: false,
    });
    const order = JSON.stringify({ type: 'object', properties: { cents: { type: 'integer' } }, required: ['cents'] });
    const hex = (lines: string[]) => lines.map((l) => Buffer.from(l, 'hex'));
    const ids = [
      { id: 'o1', region: 1 },
      { id: 'o2', region: 2 },
    ];
    const keys = hex(await confluentSerde('write', 'json', url, `${input}-key`, orderKey, ids));
    const values = hex(
      await confluentSerde('write', 'json', url, `${input}-value`, order, [{ cents: 250 }, { cents: 7 }]),
    );
    const producer = inputProducer(kafka);
    await producer.connect();
    await producer.send({ topic: input, messages: values.map((value, i) => ({ key: keys[i]!, value })) });
    await producer.disconnect();
    const registry = { url, schema: { inline: order }, keySchema: { inline: orderKey } };
    const g = {
      sources: [
        {
          name: 'orders',
          kafka: {
            brokers: bs,
            topic: input,
            groupId: `it-json-${run}`,
            bounded: 'latest',
            format: 'json-schema',
            keyFormat: 'json-schema',
            keyField: 'k',
            registry,
          },
        },
      ],
      steps: [{ name: 'priced', from: 'orders', map: { k: 'k', cents: 'cents * 2' } }],
      sinks: [
        {
          name: 'out',
          from: 'priced',
          kafka: {
            brokers: bs,
            topic: output,
            format: 'json-schema',
            keyFormat: 'json-schema',
            key: "{'id': k.id, 'region': k.region + 10}",
            registry,
          },
        },
      ],
    } as unknown as GraphSpec;
    expect((await new JobExecutor(validateGraph(g), { parallelism: 1, logger: silentLogger() }).run()).state).toBe(
      'FINISHED',
    );
    const raw = await confluentAvroRead(bs, url, output, 2, true);
    const bytes = (h: string) => Buffer.from(h, 'hex');
    const readKeys = await confluentSerde(
      'read',
      'json',
      url,
      `${output}-key`,
      orderKey,
      raw.map((r) => bytes(r.key!)),
    );
    const readValues = await confluentSerde(
      'read',
      'json',
      url,
      `${output}-value`,
      order,
      raw.map((r) => bytes(String(r.value))),
    );
    const pairs = readKeys.map((k, i) => [JSON.parse(k) as unknown, JSON.parse(readValues[i]!) as unknown]);
    expect(pairs.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
      [
        { id: 'o1', region: 11 },
        { k: { id: 'o1', region: 1 }, cents: 500 },
      ],
      [
        { id: 'o2', region: 12 },
        { k: { id: 'o2', region: 2 }, cents: 14 },
      ],
    ]);
  }, 120_000);
});
