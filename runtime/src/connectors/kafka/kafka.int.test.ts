// Against the real local Kafka broker (TRIBUTARY_KAFKA_BROKERS, set by the integration
// project's global setup): a windowed aggregation over a 4-partition topic gives the same
// results at parallelism 1 and 3, and poison records land in the dead-letter topic while
// the job carries on; each slot's status reports its share of a topic's partitions and lag.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { validateGraph } from '../validate-graph.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { readTopic } from '../../testing/kafka-reader.ts';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../../testing/kafka-topics.ts';
import type { SinkWriter, SinkWriterContext } from '../api.ts';
import { partitionOwner } from './client.ts';

const { Kafka, logLevel } = kafkajs;

/** Refuses input (its slot's source reads nothing) until released. */
class HeldSink implements SinkWriter {
  backpressured = true;
  private wake: (() => void) | undefined;
  open(ctx: SinkWriterContext): Promise<void> {
    this.wake = ctx.wake;
    return Promise.resolve();
  }
  write(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
  release(): void {
    this.backpressured = false;
    this.wake?.();
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(cond(), what).toBe(true);
}

describe('Kafka source and sink', () => {
  let kafka: KafkaClient;
  const run = randomUUID().slice(0, 8);
  const input = `it-clicks-${run}`;
  const bs = testBrokers();

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'tributary-it', brokers: bs, logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [input]: 4 });
    const producer = inputProducer(kafka);
    await producer.connect();
    // 4 partitions, each in event-time order; 12 users; 2000 records over ~100 s of event time.
    const base = 1_700_000_000_000;
    for (let p = 0; p < 4; p++) {
      const messages = Array.from({ length: 500 }, (_, i) => {
        const user = `user-${(i * 7 + p) % 12}`;
        return { key: user, value: JSON.stringify({ user, amount: (i % 9) + 1, ts: base + i * 200 + p * 13 }) };
      });
      await producer.send({ topic: input, messages: messages.map((m) => ({ ...m, partition: p })) });
    }
    await producer.disconnect();
  });

  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
  });

  const graph = (output: string, extra: Partial<GraphSpec['sources'][number]['kafka']> = {}): GraphSpec => ({
    sources: [
      {
        name: 'clicks',
        kafka: { brokers: bs, topic: input, groupId: `it-${randomUUID()}`, bounded: 'latest', ...extra },
        timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' },
      },
    ],
    steps: [
      { name: 'by-user', from: 'clicks', keyBy: 'user' },
      { name: 'per-10s', from: 'by-user', window: { tumbling: { size: '10s' } } },
      { name: 'totals', from: 'per-10s', aggregate: { n: 'count()', amount: 'sum(amount)' } },
    ],
    sinks: [{ name: 'out', from: 'totals', kafka: { brokers: bs, topic: output, key: 'user' } }],
  });

  it('windowed aggregation over a 4-partition topic: same results at parallelism 1 and 3', async () => {
    const results: string[][] = [];
    for (const p of [1, 3]) {
      const output = `it-totals-p${p}-${run}`;
      const job = new JobExecutor(validateGraph(graph(output)), { parallelism: p, logger: silentLogger() });
      const r = await job.run();
      expect(r.state).toBe('FINISHED');
      expect(r.recordsIn).toBe(2000);
      const recs = await readTopic(kafka, output, { expected: r.recordsOut });
      expect(recs).toHaveLength(r.recordsOut);
      for (const m of recs) expect(m.key).toBe((JSON.parse(m.value) as { user: string }).user);
      results.push(recs.map((m) => m.value).sort());
    }
    expect(results[0]?.length).toBeGreaterThan(50);
    expect(results[1]).toEqual(results[0]);
    const total = (results[0] as string[]).reduce((a, v) => a + (JSON.parse(v) as { n: number }).n, 0);
    expect(total).toBe(2000);
  });

  it("each slot's status load: the topic's partitions, the slot's, its lag and records read", async () => {
    const topic = `it-load-${run}`;
    await createTopics(kafka, { [topic]: 3 });
    const counts = [40, 50, 60];
    const producer = inputProducer(kafka);
    await producer.connect();
    for (const [p, n] of counts.entries())
      await producer.send({
        topic,
        messages: Array.from({ length: n }, (_, i) => ({ partition: p, value: `{"i":${i}}` })),
      });
    await producer.disconnect();
    // A new group each run: without checkpoints a stopped run commits its position to it.
    const spec = () =>
      validateGraph({
        sources: [{ name: 'in', kafka: { brokers: bs, topic, groupId: `it-${randomUUID()}` } }],
        sinks: [{ name: 'out', from: 'in', console: {} }],
      });
    const sinks: HeldSink[] = [];
    const held = (): HeldSink => {
      const k = new HeldSink();
      sinks.push(k);
      return k;
    };
    const logger = silentLogger();
    // One executor per slot, as in a slot process: each answers for its own slot.
    const oneRun = spec();
    const slots = [0, 1].map((s) => new JobExecutor(oneRun, { parallelism: 2, slots: [s], logger, sinkWriter: held }));
    const runs = slots.map((j) => j.run());
    const load = (s: number) => slots[s]?.status().load;
    const owned = [0, 1].map((s) => [0, 1, 2].filter((p) => partitionOwner(topic, p, 2) === s));
    const behind = owned.map((ps) => ps.reduce((a, p) => a + (counts[p] as number), 0));
    await until(() => [0, 1].every((s) => load(s)?.sources[0]?.partitions === 3), 'both slots assigned');
    // Held by their sinks, the sources read nothing: each slot is behind by all of its partitions' records.
    for (const s of [0, 1])
      expect(load(s)?.sources).toEqual([
        { source: 'in', partitions: 3, assigned: owned[s]?.length, lag: behind[s], recordsIn: 0 },
      ]);
    for (const k of sinks) k.release();
    const read = () => [0, 1].reduce((a, s) => a + (slots[s]?.status().recordsIn ?? 0), 0);
    await until(() => {
      // At every answer, what a slot read and what it is behind add up to what its partitions hold.
      for (const s of [0, 1]) {
        const src = load(s)?.sources[0];
        expect((src?.lag ?? 0) + (src?.recordsIn ?? 0)).toBe(behind[s]);
      }
      return read() === 150;
    }, 'all read');
    for (const s of [0, 1]) {
      const l = load(s);
      expect(l?.sources[0]).toMatchObject({ lag: 0, recordsIn: behind[s] });
      expect(l?.recordsIn).toBe(behind[s]);
      expect(slots[s]?.status().recordsIn).toBe(behind[s]);
    }
    for (const j of slots) j.stop();
    await Promise.all(runs);
    // Both slots in one process answer as one: the slots' partitions and lag summed.
    const both = new JobExecutor(spec(), { parallelism: 2, logger, sinkWriter: held });
    const bothRun = both.run();
    await until(() => both.status().load?.sources[0]?.assigned === 3, 'both slots assigned in one process');
    expect(both.status().load?.sources).toEqual([{ source: 'in', partitions: 3, assigned: 3, lag: 150, recordsIn: 0 }]);
    both.stop();
    await bothRun;
  });

  it('sends poison records to the dead-letter topic, counts them, and carries on', async () => {
    const topic = `it-poison-${run}`;
    const dlq = `it-dlq-${run}`;
    const output = `it-poison-out-${run}`;
    await createTopics(kafka, { [topic]: 2 });
    const producer = inputProducer(kafka);
    await producer.connect();
    const good = (i: number): string =>
      JSON.stringify({ user: `u${i % 3}`, amount: 1, ts: 1_700_000_000_000 + i * 100 });
    await producer.send({
      topic,
      messages: [
        { partition: 0, value: good(0) },
        { partition: 0, value: '{"user": "broken", ' }, // not JSON
        { partition: 0, value: good(1) },
        { partition: 1, value: '[1, 2, 3]' }, // JSON but not an object
        { partition: 1, value: good(2) },
        { partition: 1, value: JSON.stringify({ user: 'no-ts', amount: 1 }) }, // no timestamp
        { partition: 1, value: good(3) },
      ],
    });
    await producer.disconnect();
    const g = graph(output);
    g.sources[0]!.kafka = {
      brokers: bs,
      topic,
      groupId: `it-${randomUUID()}`,
      bounded: 'latest',
      onError: 'deadLetter',
      deadLetterTopic: dlq,
    };
    const job = new JobExecutor(validateGraph(g), { parallelism: 2, logger: silentLogger() });
    const r = await job.run();
    expect(r.state).toBe('FINISHED');
    expect(r.recordsIn).toBe(4);
    const failed = await job.metrics.sourceRecordsFailed.get();
    expect(failed.values.reduce((a, v) => a + v.value, 0)).toBe(3);
    expect(Object.fromEntries(failed.values.map((v) => [v.labels['reason'], v.value]))).toEqual({
      invalid_json: 1,
      not_an_object: 1,
      timestamp: 1,
    });
    const dead = await readTopic(kafka, dlq, { expected: 3 });
    expect(dead.map((d) => d.headers['tributary.error.reason']).sort()).toEqual([
      'invalid_json',
      'not_an_object',
      'timestamp',
    ]);
    const broken = dead.find((d) => d.headers['tributary.error.reason'] === 'invalid_json');
    expect(broken?.value).toBe('{"user": "broken", ');
    expect(broken?.headers['tributary.source.topic']).toBe(topic);
    expect(broken?.headers['tributary.source.partition']).toBe('0');
    expect(broken?.headers['tributary.source.offset']).toBe('1');
    const out = await readTopic(kafka, output, { expected: r.recordsOut });
    expect(out.reduce((a, m) => a + (JSON.parse(m.value) as { n: number }).n, 0)).toBe(4);
  });

  it("a dead-letter write that fails (over that topic's size limit) is counted as dead_letter_failed and does not stop the job", async () => {
    const topic = `it-dlqfail-${run}`;
    const dlq = `it-dlqfail-dlq-${run}`;
    const output = `it-dlqfail-out-${run}`;
    await createTopics(kafka, { [topic]: 1 });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: dlq, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '1024' }] }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    const producer = inputProducer(kafka);
    await producer.connect();
    const good = (i: number): string =>
      JSON.stringify({ user: `u${i % 3}`, amount: 1, ts: 1_700_000_000_000 + i * 100 });
    await producer.send({
      topic,
      messages: [
        { value: good(0) },
        { value: `{"not json ${'x'.repeat(4000)}` }, // unreadable, and too large for the dead-letter topic
        { value: '[1]' }, // unreadable, small enough: dead-lettered
        { value: good(1) },
      ],
    });
    await producer.disconnect();
    const g = graph(output);
    g.sources[0]!.kafka = {
      brokers: bs,
      topic,
      groupId: `it-${randomUUID()}`,
      bounded: 'latest',
      onError: 'deadLetter',
      deadLetterTopic: dlq,
    };
    const job = new JobExecutor(validateGraph(g), { parallelism: 1, logger: silentLogger() });
    const r = await job.run();
    expect(r.state).toBe('FINISHED');
    expect(r.recordsIn).toBe(2);
    const failed = await job.metrics.sourceRecordsFailed.get();
    expect(Object.fromEntries(failed.values.map((v) => [v.labels['reason'], v.value]))).toEqual({
      invalid_json: 1,
      not_an_object: 1,
      dead_letter_failed: 1,
    });
    const dead = await readTopic(kafka, dlq, { expected: 1 });
    expect(dead.map((d) => [d.value, d.headers['tributary.error.reason']])).toEqual([['[1]', 'not_an_object']]);
  });

  it('skips poison records with onError: skip', async () => {
    const topic = `it-skip-${run}`;
    const producer = inputProducer(kafka, { allowAutoTopicCreation: true });
    await producer.connect();
    await producer.send({
      topic,
      messages: [{ value: 'nope' }, { value: JSON.stringify({ user: 'a', amount: 2, ts: 1_700_000_000_000 }) }],
    });
    await producer.disconnect();
    const g = graph(`it-skip-out-${run}`);
    g.sources[0]!.kafka = { brokers: bs, topic, groupId: `it-${randomUUID()}`, bounded: 'latest', onError: 'skip' };
    const job = new JobExecutor(validateGraph(g), { parallelism: 1, logger: silentLogger() });
    const r = await job.run();
    expect(r.recordsIn).toBe(1);
    expect(r.recordsOut).toBe(1);
  });

  it('writes a burst of 8,000 window results of ~1.1 KB (one firing at end of input, ~9 MB) in sends the broker accepts, at-least-once and exactly-once', async () => {
    // kafkajs sends each partition's messages of one send as one record batch and does not
    // split it; the broker refuses a batch over max.message.bytes (1 MiB) with MESSAGE_TOO_LARGE.
    // At ~1.1 KB a result, the 2,000-message split alone would make ~2.2 MB sends: only the byte
    // budget keeps them under the limit.
    const n = 8_000;
    const alo = `it-burst-alo-${run}`;
    const eos = `it-burst-eos-${run}`;
    const g: GraphSpec = {
      sources: [
        {
          name: 'gen',
          datagen: {
            generator: 'schema',
            seed: 5,
            count: n,
            startTime: 1_700_000_000_000,
            eventRate: 1_000_000,
            fields: {
              id: { type: 'sequence' },
              note: {
                type: 'string',
                prefix: `${'a-note-long-enough-to-make-each-result-over-a-kilobyte-'.repeat(19)}-`,
                cardinality: 1_000_000,
              },
              ts: { type: 'timestamp' },
            },
          },
          timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' },
        },
      ],
      steps: [
        { name: 'by-id', from: 'gen', keyBy: 'id' },
        { name: 'hour', from: 'by-id', window: { tumbling: { size: '1h' } } },
        { name: 'agg', from: 'hour', aggregate: { n: 'count()', note: 'first(note)' } },
      ],
      sinks: [
        { name: 'alo', from: 'agg', kafka: { brokers: bs, topic: alo, delivery: 'at-least-once' } },
        { name: 'eos', from: 'agg', kafka: { brokers: bs, topic: eos, delivery: 'exactly-once' } },
      ],
    };
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-burst-'));
    try {
      const r = await new JobExecutor(validateGraph(g), {
        parallelism: 1,
        logger: silentLogger(),
        jobName: `burst-${run}`,
        checkpointing: { stateDir },
      }).run();
      expect(r.state).toBe('FINISHED');
      expect(r.recordsOut).toBe(2 * n);
      for (const topic of [alo, eos]) {
        const recs = await readTopic(kafka, topic, { expected: n, timeoutMs: 60_000 });
        expect(new Set(recs.map((x) => (JSON.parse(x.value) as { id: number }).id)).size, topic).toBe(n);
        expect(recs.length, topic).toBe(n);
      }
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  it.each(['at-least-once', 'exactly-once'] as const)(
    '%s: a single record larger than the topic allows fails the job (never dropped) with an error naming the sink, the topic and the record',
    async (delivery) => {
      const topic = `it-small-${delivery}-${run}`;
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '65536' }] }],
        waitForLeaders: true,
      });
      await admin.disconnect();
      // Small records around one of ~100 kB: the broker's limit (64 KiB), not the sink's send
      // budget (512 KiB), is what the big one exceeds.
      const g: GraphSpec = {
        sources: [
          {
            name: 'gen',
            collection: {
              records: [
                { id: 'a', big: 'x' },
                { id: 'huge', big: 'x'.repeat(100_000) },
                { id: 'c', big: 'x' },
              ],
            },
          },
        ],
        sinks: [{ name: 'narrow', from: 'gen', kafka: { brokers: bs, topic, key: 'id', delivery } }],
      };
      const stateDir = await mkdtemp(join(tmpdir(), 'trib-big-'));
      try {
        const failed = await new JobExecutor(validateGraph(g), {
          parallelism: 1,
          logger: silentLogger(),
          jobName: `big-${delivery}-${run}`,
          checkpointing: { stateDir },
        })
          .run()
          .then(
            (r) => r.state,
            (e: unknown) => e as { code?: string; message: string },
          );
        expect(typeof failed, 'the job finished: the record was dropped').toBe('object');
        const err = failed as { code?: string; message: string };
        // Both deliveries fail the job with the send's error; exactly-once meets it at the final
        // checkpoint's pre-commit, which fails the job too (its transaction never commits).
        expect(err.code).toBe('TRIB_CONNECTOR_FAILED');
        expect(err.message).toContain(`sink "narrow"`);
        expect(err.message).toContain(topic);
        expect(err.message).toMatch(/largest record is 10\d{4} bytes \(key "huge"/);
        expect(err.message).toContain('max.message.bytes');
      } finally {
        await rm(stateDir, { recursive: true, force: true });
      }
    },
  );
});
