// Against the real local Kafka broker: a Kafka json source whose records reach a json Kafka
// sink through filter steps only writes each record's source bytes as they are (q0's path,
// graph/pass-through.ts), so formatting JSON.stringify would change (spaces, 1.50, \u escapes,
// key order) survives; a map step, or a source of another format, re-encodes the record.
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec, KafkaSourceSpec, StepSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { readTopic } from '../../testing/kafka-reader.ts';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../../testing/kafka-topics.ts';
import { validateGraph } from '../validate-graph.ts';

const { Kafka, logLevel } = kafkajs;
const N = 400;

/** Record i as a producer other than JSON.stringify might write it. */
function value(i: number): string {
  return `{ "user" : "us\\u0065r-${i % 7}",  "amount": ${(i % 9) + 1}.50, "ts":${1_700_000_000_000 + i} }`;
}

describe('Kafka pass-through of source bytes', () => {
  let kafka: KafkaClient;
  const run = randomUUID().slice(0, 8);
  const input = `it-pass-${run}`;
  const bs = testBrokers();
  const inputs = Array.from({ length: N }, (_, i) => value(i));

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'tributary-it', brokers: bs, logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [input]: 4 });
    const producer = inputProducer(kafka);
    await producer.connect();
    await producer.send({
      topic: input,
      messages: inputs.map((v, i) => ({ key: `k${i}`, value: v, partition: i % 4 })),
    });
    await producer.disconnect();
  });

  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
  });

  async function runGraph(output: string, steps: StepSpec[], source: Partial<KafkaSourceSpec> = {}): Promise<string[]> {
    const graph: GraphSpec = {
      sources: [
        {
          name: 'bids',
          kafka: { brokers: bs, topic: input, groupId: `it-${randomUUID()}`, bounded: 'latest', ...source },
        },
      ],
      steps,
      sinks: [{ name: 'out', from: steps.at(-1)?.name ?? 'bids', kafka: { brokers: bs, topic: output } }],
    };
    const job = new JobExecutor(validateGraph(graph), { parallelism: 1, logger: silentLogger() });
    const r = await job.run();
    expect(r.state).toBe('FINISHED');
    const recs = await readTopic(kafka, output, { expected: r.recordsOut });
    expect(recs).toHaveLength(r.recordsOut);
    return recs.map((m) => m.value).sort();
  }

  it('source → sink and source → filter (reading a field) → sink: output bytes identical to the input', async () => {
    expect(await runGraph(`it-pass-q0-${run}`, [])).toEqual([...inputs].sort());
    const filtered = await runGraph(`it-pass-filter-${run}`, [{ name: 'big', from: 'bids', filter: 'amount > 5.0' }]);
    expect(filtered).toEqual(inputs.filter((_, i) => (i % 9) + 1.5 > 5).sort());
  });

  it('a map step re-encodes the record (JSON.stringify), even one that keeps every field', async () => {
    const out = await runGraph(`it-pass-map-${run}`, [
      { name: 'same', from: 'bids', map: { user: 'user', amount: 'amount', ts: 'ts' } },
    ]);
    expect(out).toEqual(inputs.map((v) => JSON.stringify(JSON.parse(v))).sort());
    expect(out).not.toContain(inputs[0]);
  });

  it('a source of format string into a json sink writes the record, not the source bytes', async () => {
    const out = await runGraph(`it-pass-string-${run}`, [], { format: 'string' });
    expect(out).toEqual(inputs.map((v, i) => JSON.stringify({ value: v, key: `k${i}` })).sort());
  });
});
