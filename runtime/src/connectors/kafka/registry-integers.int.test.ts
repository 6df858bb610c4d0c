// A typed format's integers are CEL ints end to end, against the real registry and broker: an
// Avro topic with a `long` field, written by Confluent's own AvroSerializer and read without a
// pinned reader schema (every field `dyn`), filtered with `k % 2 == 0`. Before, a long reached CEL
// as a double, `%` had no overload, and the job dropped every record without a word. Now exactly
// the even records arrive, their longs past 2^53 written with every digit, and nothing is dropped.
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confluentAvroWrite } from '../../../../test/harness/confluent-python.ts';
import { JobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { readTopic } from '../../testing/kafka-reader.ts';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../../testing/kafka-topics.ts';
import { validateGraph } from '../validate-graph.ts';

const { Kafka, logLevel } = kafkajs;

const schema = JSON.stringify({
  type: 'record',
  name: 'Tick',
  namespace: 'it',
  fields: [
    { name: 'k', type: 'long' },
    { name: 'user', type: 'string' },
  ],
});
const N = 2000;
/** Past 2^53, where a double has no odd integers: 2^53 + 2 is even, 2^53 + 3 odd. */
const BIG = 2n ** 53n;

describe('Avro longs are CEL ints through the registry', () => {
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

  it('filters `k % 2 == 0` on an Avro long read without a pinned schema: exactly the even records arrive', async () => {
    const input = `it-avro-ints-${run}`;
    const output = `it-avro-ints-out-${run}`;
    await createTopics(kafka, { [input]: 1, [output]: 1 });
    const ticks = Array.from({ length: N }, (_, i) => ({ k: i, user: `u${i}` }));
    const written = await confluentAvroWrite(url, `${input}-value`, schema, ticks);
    // Two longs a double cannot tell apart, as Avro bytes of the same schema id.
    // (JSON.rawJSON: the script reads the records as JSON, and Python's ints keep every digit.)
    const raw = (n: bigint): unknown => (JSON as unknown as { rawJSON(t: string): unknown }).rawJSON(n.toString());
    const big = await confluentAvroWrite(url, `${input}-value`, schema, [
      { k: raw(BIG + 2n), user: 'big-even' },
      { k: raw(BIG + 3n), user: 'big-odd' },
    ]);
    const producer = inputProducer(kafka);
    await producer.connect();
    await producer.send({ topic: input, messages: [...written, ...big].map((value) => ({ value })) });
    await producer.disconnect();

    const g = {
      sources: [
        {
          name: 'ticks',
          kafka: {
            brokers: bs,
            topic: input,
            groupId: `it-${run}`,
            bounded: 'latest',
            format: 'avro',
            registry: { url },
          },
        },
      ],
      steps: [{ name: 'even', from: 'ticks', filter: 'k % 2 == 0' }],
      sinks: [{ name: 'out', from: 'even', kafka: { brokers: bs, topic: output } }],
    } as unknown as GraphSpec;
    const job = new JobExecutor(validateGraph(g), { parallelism: 1, logger: silentLogger() });
    const r = await job.run();
    expect(r.state).toBe('FINISHED');
    expect(r.recordsIn).toBe(N + 2);
    expect(r.recordsOut).toBe(N / 2 + 1);
    expect(r.recordsDropped).toBeUndefined();

    const got = await readTopic(kafka, output, { expected: N / 2 + 1, settleMs: 500 });
    const values = got.map((m) => m.value);
    // Every digit of the big one, as written (JSON.parse would round it): the JSON text itself.
    expect(values).toContain(`{"k":${BIG + 2n},"user":"big-even"}`);
    const small = values
      .filter((v) => !v.includes('big-'))
      .map((v) => (JSON.parse(v) as { k: number }).k)
      .sort((a, b) => a - b);
    expect(small).toEqual(Array.from({ length: N / 2 }, (_, i) => 2 * i));
  });
});
