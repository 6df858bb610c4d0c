// JSON Schema references through the real registry and Kafka, Confluent's serdes on both ends: an
// Address schema registered under its own subject, an Order schema whose `$ref` names it; Confluent's
// JSONSerializer writes orders (validating against both), a job reads them (the writer's schema by
// id, its reference resolved: a record the Address schema refuses is a bad record, dead-lettered as
// read), filters on a field of the referenced part, and writes them with the same inline schema and
// references; Confluent's JSONDeserializer reads the output back (validating, by the id our sink
// registered, its reference resolved by Confluent's own code).
import { describe, expect, it } from 'vitest';
import {
  confluentJsonReadWithReferences,
  confluentWriteWithReferences,
} from '../../../../test/harness/confluent-references.ts';
import { JobExecutor } from '../../job/job-executor.ts';
import { SchemaRegistryClient } from '../../formats/registry/client.ts';
import { frame, unframe } from '../../formats/registry/wire.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { readTopic } from '../../testing/kafka-reader.ts';
import { kafkaTestRun, readValueBytes } from '../../testing/kafka-test-run.ts';
import { createTopics, inputProducer } from '../../testing/kafka-topics.ts';
import { validateGraph } from '../validate-graph.ts';

const address = JSON.stringify({
  type: 'object',
  properties: { city: { type: 'string' }, zip: { type: 'string', pattern: '^[0-9]{4}$' } },
  required: ['city', 'zip'],
});
const order = JSON.stringify({
  type: 'object',
  properties: { id: { type: 'string' }, to: { $ref: 'address.json' } },
  required: ['id', 'to'],
});
const orders = [
  { id: 'a', to: { city: 'Utrecht', zip: '3511' } },
  { id: 'b', to: { city: 'Gent', zip: '9000' } },
  { id: 'c', to: { city: 'Utrecht', zip: '3512' } },
];

describe('JSON Schema references through the registry and Kafka', () => {
  const url = process.env.TRIBUTARY_REGISTRY_URL!;
  const { run, bs, kafka } = kafkaTestRun();

  it('a $ref to another subject: Confluent writes, a job validates, filters and writes, Confluent reads', async () => {
    const input = `it-jsonrefs-in-${run}`;
    const output = `it-jsonrefs-out-${run}`;
    const dlq = `it-jsonrefs-dlq-${run}`;
    await createTopics(kafka, { [input]: 1, [output]: 1, [dlq]: 1 });
    const client = new SchemaRegistryClient({ url });
    const addressSubject = `it-jsonrefs-address-${run}`;
    await client.idFor(addressSubject, { schemaType: 'JSON', schema: address }, { autoRegister: true });
    const references = [{ name: 'address.json', subject: addressSubject, version: 1 }];
    await client.idFor(`${input}-value`, { schemaType: 'JSON', schema: order, references }, { autoRegister: true });
    await client.close();
    const written = await confluentWriteWithReferences('json', url, `${input}-value`, order, references, orders);
    // Valid for Order alone, not for the Address it references: a reader that did not resolve the $ref would pass it.
    const badZip = frame(
      unframe(written[0]!).schemaId,
      Buffer.from(JSON.stringify({ id: 'x', to: { city: 'Gent', zip: 'nine' } })),
    );
    const producer = inputProducer(kafka);
    await producer.connect();
    await producer.send({
      topic: input,
      messages: [written[0]!, badZip, written[1]!, written[2]!].map((value, i) => ({ key: `k${i}`, value })),
    });
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
            format: 'json-schema',
            registry: { url },
            onError: 'deadLetter',
            deadLetterTopic: dlq,
          },
        },
      ],
      steps: [{ name: 'utrecht', from: 'orders', filter: 'to.city == "Utrecht"' }],
      sinks: [
        {
          name: 'out',
          from: 'utrecht',
          kafka: {
            brokers: bs,
            topic: output,
            format: 'json-schema',
            registry: { url, schema: { inline: order, references } },
          },
        },
      ],
    } as unknown as GraphSpec;
    const job = new JobExecutor(validateGraph(graph), { parallelism: 1, logger: silentLogger() });
    expect((await job.run()).state).toBe('FINISHED');

    const letters = await readTopic(kafka, dlq, { expected: 1, settleMs: 500 });
    expect(letters.map((l) => l.key)).toEqual(['k1']);
    const failed = (await job.metrics.sourceRecordsFailed.get()).values.map((v) => [v.labels.reason, v.value]);
    expect(failed).toEqual([['format_decode', 1]]);

    const read = await confluentJsonReadWithReferences(url, `${output}-value`, await readValueBytes(kafka, output, 2));
    const byId = (a: unknown, b: unknown) => (a as { id: string }).id.localeCompare((b as { id: string }).id);
    expect(read.sort(byId)).toEqual([orders[0], orders[2]]);
  }, 180_000);
});
