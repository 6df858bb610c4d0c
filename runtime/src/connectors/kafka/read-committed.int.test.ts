// The read_committed correction (kafkajs-read-committed.ts) on the case it exists for, against
// the real broker: several aborted transactions in one fetch, whose abort markers come in a
// different order than their first records. Transaction A starts first and aborts last, B starts
// second and aborts first, so the broker lists them by marker (B, A) while their records start
// in the order A, B — unpatched kafkajs then lets A's records through as committed. A Kafka
// source job (bounded) must read exactly the committed records, and end: the topic's last offset
// is a commit marker, never delivered as a record, which a bounded read must still count as read.
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { CollectingSink, type Emitted } from '../../testing/harness.ts';
import { createTopics, deleteTopicsContaining, testBrokers } from '../../testing/kafka-topics.ts';
import { validateGraph } from '../validate-graph.ts';
import { patched } from './kafkajs-read-committed.ts';

const { Kafka, logLevel } = kafkajs;

describe('read_committed with several aborted transactions in one fetch (real Kafka)', () => {
  const run = randomUUID().slice(0, 8);
  const topic = `it-aborts-${run}`;
  const bs = testBrokers();
  let kafka: KafkaClient;
  const producers: Producer[] = [];

  const producer = async (id: string): Promise<Producer> => {
    const p = kafka.producer({ transactionalId: `${id}-${run}`, idempotent: true, maxInFlightRequests: 1 });
    await p.connect();
    producers.push(p);
    return p;
  };
  const msgs = (tag: string, n: number) =>
    Array.from({ length: n }, (_, i) => ({ value: JSON.stringify({ tag, i }), partition: 0 }));

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'it-aborts', brokers: bs, logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [topic]: 1 });
    const [a, b, c] = [await producer('a'), await producer('b'), await producer('c')];
    const ta = await a.transaction();
    await ta.send({ topic, messages: msgs('aborted-a', 5) });
    const tb = await b.transaction();
    await tb.send({ topic, messages: msgs('aborted-b', 5) });
    await ta.send({ topic, messages: msgs('aborted-a2', 5) }); // A's records on both sides of B's
    const tc = await c.transaction();
    await tc.send({ topic, messages: msgs('committed-c', 5) });
    await tb.abort(); // B's marker first...
    await ta.abort(); // ...then A's, though A started first
    await tc.commit();
    const td = await c.transaction();
    await td.send({ topic, messages: msgs('committed-d', 5) });
    await td.commit();
  });

  afterAll(async () => {
    for (const p of producers) await p.disconnect().catch(() => undefined);
    await deleteTopicsContaining(kafka, run);
  });

  it('a bounded Kafka source reads exactly the committed records', async () => {
    expect(patched).toBe(true);
    const got: Emitted[] = [];
    const g: GraphSpec = {
      sources: [{ name: 'in', kafka: { brokers: bs, topic, groupId: `it-${run}`, bounded: 'latest' } }],
      sinks: [{ name: 'out', from: 'in', console: {} }],
    };
    const r = await new JobExecutor(validateGraph(g), {
      parallelism: 1,
      logger: silentLogger(),
      sinkWriter: () => new CollectingSink(got),
    }).run();
    expect(r.state).toBe('FINISHED');
    const tags = got.map((e) => `${(e.rec as { tag: string }).tag}#${(e.rec as { i: number }).i}`);
    expect(tags.sort()).toEqual(
      [...msgs('committed-c', 5), ...msgs('committed-d', 5)]
        .map((m) => {
          const v = JSON.parse(m.value) as { tag: string; i: number };
          return `${v.tag}#${v.i}`;
        })
        .sort(),
    );
  });
});
