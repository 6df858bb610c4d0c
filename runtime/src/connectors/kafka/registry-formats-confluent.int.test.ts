// Protobuf and JSON Schema through Kafka against Confluent's own serdes on both ends (Python
// confluent-kafka, test/python/confluent_serde.py): its ProtobufSerializer and JSONSerializer
// write the input topics (Protobuf registered as Confluent registers it, a base64 descriptor), a
// job reads them with `format: protobuf | json-schema` and writes them again in the same format
// under subjects of its own, and Confluent's deserializers read the output back as the records
// that went in.
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confluentSerde } from '../../../../test/harness/confluent-python.ts';
import { JobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { createTopics, deleteTopicsContaining, testBrokers } from '../../testing/kafka-topics.ts';
import { validateGraph } from '../validate-graph.ts';

const { Kafka, logLevel } = kafkajs;

const PROTO = `syntax = "proto3";
package it;
message Order { string id = 1; int64 cents = 2; repeated string tags = 3; }
`;
const JSON_SCHEMA = JSON.stringify({
  type: 'object',
  properties: {
    id: { type: 'string' },
    cents: { type: 'integer' },
    tags: { type: 'array', items: { type: 'string' } },
  },
  required: ['id', 'cents', 'tags'],
});
const ORDERS = [
  { id: 'o1', cents: 250, tags: ['a'] },
  { id: 'o2', cents: 2 ** 40, tags: [] },
  { id: 'o3', cents: 7, tags: ['b', 'c'] },
];

describe("Protobuf and JSON Schema through Kafka, Confluent's serdes on both ends", () => {
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

  for (const [format, schema, serde] of [
    ['protobuf', PROTO, 'protobuf'],
    ['json-schema', JSON_SCHEMA, 'json'],
  ] as const) {
    it(`${format}: what Confluent writes, a job reads and writes again, and Confluent reads back`, async () => {
      expect(url, 'TRIBUTARY_REGISTRY_URL: start the cluster with --with registry').toBeTruthy();
      const input = `it-cf-${format}-in-${run}`;
      const output = `it-cf-${format}-out-${run}`;
      await createTopics(kafka, { [input]: 1, [output]: 1 });
      const written = await confluentSerde('write', serde, url, `${input}-value`, schema, ORDERS);
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: input, messages: written.map((hex) => ({ value: Buffer.from(hex, 'hex') })) });
      await producer.disconnect();

      const graph = {
        sources: [
          {
            name: 'orders',
            kafka: { brokers: bs, topic: input, groupId: `it-cf-${run}`, bounded: 'latest', format, registry: { url } },
          },
        ],
        sinks: [
          {
            name: 'again',
            from: 'orders',
            kafka: { brokers: bs, topic: output, format, registry: { url, schema: { inline: schema } } },
          },
        ],
      } as unknown as GraphSpec;
      const r = await new JobExecutor(validateGraph(graph), { parallelism: 1, logger: silentLogger() }).run();
      expect(r.state).toBe('FINISHED');

      const consumer = kafka.consumer({ groupId: `it-cf-read-${format}-${run}` });
      const bytes: Buffer[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic: output, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachMessage: async ({ message }) => {
              bytes.push(message.value as Buffer);
              if (bytes.length === ORDERS.length) resolve();
            },
          })
          .catch(reject);
      });
      await consumer.disconnect();
      const read = (await confluentSerde('read', serde, url, `${output}-value`, schema, bytes)).map(
        (l) => JSON.parse(l) as Record<string, unknown>,
      );
      // Protobuf's JSON mapping: int64 as a string, an empty repeated field left out.
      const expected =
        format === 'protobuf'
          ? ORDERS.map((o) => ({ id: o.id, cents: String(o.cents), ...(o.tags.length > 0 ? { tags: o.tags } : {}) }))
          : ORDERS;
      expect(read).toEqual(expected);
    }, 120_000);
  }
});
