// Schema references through the real registry (Apicurio, TRIBUTARY_REGISTRY_URL) and Kafka, with
// Confluent's own serdes as the independent peer (test/python/confluent_references.py):
// - Protobuf: Confluent's ProtobufSerializer writes a message whose file imports
//   google/protobuf/timestamp.proto (not registered: skip.known.types) and a user file it registers
//   itself as a reference; a job reads it (a CEL filter over the imported message's field) and writes
//   it again with an inline schema naming that reference; Confluent's deserializer reads the output
//   back as the input records.
// - Avro: a named type registered over REST under a subject of its own, an order schema referencing it,
//   Confluent's AvroSerializer writing with both, a job reading them into its reader version.
// - A reference the registry does not have: the messages of that schema id are bad records, dead-lettered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  confluentWriteWithReferences,
  confluentProtobufRead,
  confluentProtobufWrite,
  type ProtoFiles,
} from '../../../../test/harness/confluent-references.ts';
import { isTributaryError } from '../../errors.ts';
import { JobExecutor } from '../../job/job-executor.ts';
import { SchemaRegistryClient } from '../../formats/registry/client.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { typeRegistrySources } from './registry-reader-types.ts';
import { readTopic } from '../../testing/kafka-reader.ts';
import { createTopics, inputProducer } from '../../testing/kafka-topics.ts';
import { kafkaTestRun, readValueBytes } from '../../testing/kafka-test-run.ts';
import { validateGraph } from '../validate-graph.ts';

describe('schema references through the registry and Kafka', () => {
  const url = process.env.TRIBUTARY_REGISTRY_URL!;
  const { run, bs, kafka } = kafkaTestRun();
  let client: SchemaRegistryClient;

  beforeAll(() => {
    client = new SchemaRegistryClient({ url });
  });
  afterAll(async () => {
    await client.close();
  });

  it('Protobuf importing a well-known type and a user file: Confluent writes, a job filters and writes, Confluent reads', async () => {
    expect(url, 'TRIBUTARY_REGISTRY_URL: start the cluster with --with registry').toBeTruthy();
    const input = `it-refs-pb-in-${run}`;
    const output = `it-refs-pb-out-${run}`;
    await createTopics(kafka, { [input]: 1, [output]: 1 });
    const pkg = `it.r${run}`;
    const common = `it/r${run}/common.proto`;
    const main = `it/r${run}/order.proto`;
    const files: ProtoFiles = {
      main,
      files: {
        [common]: `syntax = "proto3";\npackage ${pkg};\nmessage Customer { string name = 1; string country = 2; }\n`,
        [main]: `syntax = "proto3";
package ${pkg};
import "google/protobuf/timestamp.proto";
import "${common}";
message Order {
  string id = 1;
  google.protobuf.Timestamp at = 2;
  Customer customer = 3;
  int64 cents = 4;
}
`,
      },
    };
    // Protobuf's JSON mapping, as Confluent's peer takes and gives records: Timestamp as RFC 3339, int64 as a string.
    const orders = [
      { id: 'o1', at: '2026-01-02T03:04:05.500Z', customer: { name: 'ann', country: 'NL' }, cents: '250' },
      { id: 'o2', at: '2026-01-02T03:04:06Z', customer: { name: 'bob', country: 'DE' }, cents: '7' },
      { id: 'o3', at: '2026-01-03T00:00:00Z', customer: { name: 'cy', country: 'NL' }, cents: String(2 ** 40) },
    ];
    const written = await confluentProtobufWrite(url, `${input}-value`, files, orders);
    // What Confluent registered: the user file as a reference under its import path, the well-known type not at all.
    const registered = await client.version(`${input}-value`, 'latest');
    expect(registered.references).toEqual([{ name: common, subject: common, version: 1 }]);
    // Typed fields of that version, its imports resolved (the CLI's pass before validation): messages are dyn.
    const registry = { url, schema: { version: registered.version } };
    const typed = { sources: [{ name: 'orders', kafka: { topic: input, format: 'protobuf', registry } }] };
    expect(await typeRegistrySources(typed)).toEqual([
      { source: 'orders', typed: { subject: `${input}-value`, version: registered.version } },
    ]);
    expect((typed.sources[0]!.kafka as { schema?: unknown }).schema).toEqual({
      id: 'string',
      at: 'dyn',
      customer: 'dyn',
      cents: 'int', // an int64: a CEL int (docs/runtime/formats.md, "Integers")
    });
    const producer = inputProducer(kafka);
    await producer.connect();
    await producer.send({ topic: input, messages: written.map((value) => ({ value })) });
    await producer.disconnect();

    const references = [{ name: common, subject: common, version: 1 }];
    // Confluent registered the file as a base64 FileDescriptorProto; the sink writes with the .proto text and its
    // reference: a new schema of the output's subject, which Confluent's deserializer reads by its id.
    expect(registered.schema).not.toContain(';');
    const graph = {
      sources: [
        {
          name: 'orders',
          kafka: {
            brokers: bs,
            topic: input,
            groupId: `it-${run}`,
            bounded: 'latest',
            format: 'protobuf',
            registry: { url },
          },
        },
      ],
      steps: [{ name: 'dutch', from: 'orders', filter: 'customer.country == "NL" && at.seconds > 0' }],
      sinks: [
        {
          name: 'again',
          from: 'dutch',
          kafka: {
            brokers: bs,
            topic: output,
            format: 'protobuf',
            registry: { url, schema: { inline: files.files[main]!, references } },
          },
        },
      ],
    } as unknown as GraphSpec;
    const r = await new JobExecutor(validateGraph(graph), { parallelism: 1, logger: silentLogger() }).run();
    expect(r.state).toBe('FINISHED');

    const out = await readValueBytes(kafka, output, 2);
    const read = await confluentProtobufRead(url, `${output}-value`, files, out);
    const byId = (a: unknown, b: unknown) => String((a as { id: string }).id).localeCompare((b as { id: string }).id);
    expect(read.sort(byId)).toEqual([orders[0], orders[2]]);
    // The job registered its .proto text with the reference it was given.
    const ours = await client.version(`${output}-value`, 'latest');
    expect(ours.references).toEqual(references);
    expect(ours.schema).toContain(`import "${common}";`);
  }, 180_000);

  it('Avro with a named type of another subject: registered over REST, written by Confluent, read by a job', async () => {
    const input = `it-refs-avro-in-${run}`;
    const output = `it-refs-avro-out-${run}`;
    await createTopics(kafka, { [input]: 1, [output]: 1 });
    const ns = `it.r${run}`;
    const money = JSON.stringify({
      type: 'record',
      name: 'Money',
      namespace: ns,
      fields: [
        { name: 'currency', type: 'string' },
        { name: 'cents', type: 'long' },
      ],
    });
    const order = JSON.stringify({
      type: 'record',
      name: 'Order',
      namespace: ns,
      fields: [
        { name: 'id', type: 'string' },
        { name: 'total', type: `${ns}.Money` },
      ],
    });
    const moneySubject = `it-refs-money-${run}`;
    await client.idFor(moneySubject, { schemaType: 'AVRO', schema: money }, { autoRegister: true });
    const references = [{ name: `${ns}.Money`, subject: moneySubject, version: 1 }];
    await client.idFor(`${input}-value`, { schemaType: 'AVRO', schema: order, references }, { autoRegister: true });
    expect((await client.version(`${input}-value`, 1)).references).toEqual(references);
    const records = [
      { id: 'a', total: { currency: 'EUR', cents: 120 } },
      { id: 'b', total: { currency: 'EUR', cents: 80 } },
      { id: 'c', total: { currency: 'USD', cents: 3000 } },
    ];
    const written = await confluentWriteWithReferences('avro', url, `${input}-value`, order, references, records);
    // An inline schema with references is typed by the CLI's pass, which resolves them (validation alone cannot).
    const inline = { inline: order, references };
    const typed = {
      sources: [{ name: 'o', kafka: { topic: input, format: 'avro', registry: { url, schema: inline } } }],
    };
    expect(await typeRegistrySources(typed)).toEqual([{ source: 'o', typed: { subject: `${input}-value` } }]);
    expect((typed.sources[0]!.kafka as { schema?: unknown }).schema).toEqual({ id: 'string', total: 'map' });
    const producer = inputProducer(kafka);
    await producer.connect();
    await producer.send({ topic: input, messages: written.map((value) => ({ value })) });
    await producer.disconnect();

    const graph = {
      sources: [
        {
          name: 'orders',
          kafka: {
            brokers: bs,
            topic: input,
            groupId: `it-${run}`,
            bounded: 'latest',
            format: 'avro',
            registry: { url, schema: { version: 1 } },
          },
        },
      ],
      steps: [{ name: 'big', from: 'orders', filter: 'total.cents > 100' }],
      sinks: [{ name: 'out', from: 'big', kafka: { brokers: bs, topic: output } }],
    } as unknown as GraphSpec;
    const r = await new JobExecutor(validateGraph(graph), { parallelism: 1, logger: silentLogger() }).run();
    expect(r.state).toBe('FINISHED');
    const out = await readTopic(kafka, output, { expected: 2, settleMs: 500 });
    expect(out.map((x) => JSON.parse(x.value) as { id: string }).sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      records[0],
      records[2],
    ]);
  }, 180_000);

  it('a reference the registry no longer has: its messages are dead letters, a sink naming it fails at open', async () => {
    const input = `it-refs-gone-in-${run}`;
    const dlq = `it-refs-gone-dlq-${run}`;
    const output = `it-refs-gone-out-${run}`;
    await createTopics(kafka, { [input]: 1, [dlq]: 1, [output]: 1 });
    const ns = `it.g${run}`;
    const money = JSON.stringify({
      type: 'record',
      name: 'Money',
      namespace: ns,
      fields: [{ name: 'cents', type: 'long' }],
    });
    const order = JSON.stringify({
      type: 'record',
      name: 'Order',
      namespace: ns,
      fields: [{ name: 'total', type: `${ns}.Money` }],
    });
    const moneySubject = `it-refs-gone-money-${run}`;
    await client.idFor(moneySubject, { schemaType: 'AVRO', schema: money }, { autoRegister: true });
    const references = [{ name: `${ns}.Money`, subject: moneySubject, version: 1 }];
    await client.idFor(`${input}-value`, { schemaType: 'AVRO', schema: order, references }, { autoRegister: true });
    const written = await confluentWriteWithReferences('avro', url, `${input}-value`, order, references, [
      { total: { cents: 1 } },
      { total: { cents: 2 } },
    ]);
    // Apicurio lets a referenced version go (Confluent's registry refuses while it is referenced): soft, then for good.
    for (const q of ['', '?permanent=true']) {
      const res = await fetch(`${url}/subjects/${encodeURIComponent(moneySubject)}/versions/1${q}`, {
        method: 'DELETE',
      });
      expect(res.status, await res.text()).toBe(200);
    }
    const producer = inputProducer(kafka);
    await producer.connect();
    await producer.send({ topic: input, messages: written.map((value, i) => ({ key: `k${i}`, value })) });
    await producer.disconnect();

    const source = {
      name: 'orders',
      kafka: {
        brokers: bs,
        topic: input,
        groupId: `it-gone-${run}`,
        bounded: 'latest',
        format: 'avro',
        registry: { url },
        onError: 'deadLetter',
        deadLetterTopic: dlq,
      },
    };
    const job = new JobExecutor(
      validateGraph({
        sources: [source],
        sinks: [{ name: 'out', from: 'orders', kafka: { brokers: bs, topic: output } }],
      } as unknown as GraphSpec),
      { parallelism: 1, logger: silentLogger() },
    );
    expect((await job.run()).state).toBe('FINISHED');
    const letters = await readTopic(kafka, dlq, { expected: 2, settleMs: 500 });
    expect(letters.map((l) => [l.key, l.headers['tributary.error.reason']]).sort()).toEqual([
      ['k0', 'schema_not_found'],
      ['k1', 'schema_not_found'],
    ]);
    // Apicurio resolves the references of GET /schemas/ids/{id} itself: the id's fetch answers 404 naming the gone
    // subject (Confluent's registry answers the schema, and the client's resolution names the reference).
    expect(letters[0]!.headers['tributary.error.message']).toMatch(
      new RegExp(`HTTP 404 for schema id \\d+: .*'${moneySubject}'`),
    );
    expect(await readTopic(kafka, output, { expected: 1, timeoutMs: 1000 })).toEqual([]);

    const sinking = new JobExecutor(
      validateGraph({
        sources: [{ name: 'one', collection: { records: [{ total: { cents: 3 } }] } }],
        sinks: [
          {
            name: 'again',
            from: 'one',
            kafka: {
              brokers: bs,
              topic: output,
              format: 'avro',
              registry: { url, schema: { inline: order, references } },
            },
          },
        ],
      } as unknown as GraphSpec),
      { parallelism: 1, logger: silentLogger() },
    );
    const failed = await sinking.run().then(
      (r) => r.state,
      (e: unknown) => e,
    );
    expect(isTributaryError(failed, 'TRIB_REGISTRY_NOT_FOUND'), String(failed)).toBe(true);
    expect((failed as Error).message).toContain(
      `sink "again" (slot 0): writer schema of subject "${output}-value": reference "${ns}.Money" (subject "${moneySubject}" version 1) of the inline schema: `,
    );
  }, 180_000);
});
