// Event time over the real Kafka broker, with the default watermark alignment (no source sets
// `alignment`: on, maxDrift 20s).
//
// * A 4-partition backlog (line i → partition i mod 4) read from the start at p1, p2 and p4
//   gives the same late output, final window results and dedupe output, equal to an
//   event-time reference computed here (a fetch brings a partition's records in blocks far
//   longer in event time than the out-of-orderness bound: without alignment the partitions
//   drift apart by whole fetches).
// * A backfill: two partitions over the same hour of event time, one with 10× the records per
//   minute of the other. Read at the same records per second their event times drift apart;
//   with alignment the window step's state (its timers, one per key and open window, read from
//   the tributary_operator_timers gauge while the job runs) stays bounded by the drift, and the
//   results at p2 equal those at p1.
// * A live topic (unbounded read, no idleTimeout) where one partition never gets a record, one
//   holds only an aborted transaction (offsets, but no record to read) and another gets a few
//   records at the start and then none: caught up, they do not hold the group back,
//   so the other partitions are read to their end (an hour of event time ahead) and the job
//   drains with every window complete. Counting them would stop the others after maxDrift.
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { JobMetrics } from '../../telemetry/metrics.ts';
import { CollectingSink, sortedJson, type Emitted } from '../../testing/harness.ts';
import {
  dedupeReference,
  finalWindows,
  seededRandom,
  windowReference,
  type Ev,
} from '../../testing/event-time-reference.ts';
import { createTopics, deleteTopicsContaining, inputProducer, testBrokers } from '../../testing/kafka-topics.ts';
import { validateGraph } from '../validate-graph.ts';

const { Kafka, logLevel } = kafkajs;

const BOUND = 2000;
const SIZE = 10_000;
const LATENESS = 5000;
const WITHIN = 30_000;
const N = 20_000;
const T0 = 1_699_999_980_000; // a minute boundary

/** N events 10 ms apart displaced by up to 1.5 s, plus one every 1,000 that is 60 s behind the stream. */
function events(): Ev[] {
  const rnd = seededRandom(11);
  const out: Ev[] = [];
  for (let i = 0; i < N; i++) {
    out.push({ id: i, k: `k${i % 40}`, ts: T0 + i * 10 + Math.floor(rnd() * 1500) });
    if (i % 1000 === 999) out.push({ id: 1_000_000 + i, k: `k${i % 40}`, ts: T0 + i * 10 - 60_000 });
  }
  return out;
}

/**
 * Partitions 0 and 1: an hour of event time, a record every 600 ms each; partition 2: 20 records in
 * the first 2 s; partition 3: none (partition 4 gets an aborted transaction).
 */
const SPARSE_TOTAL = 2 * 6000 + 20;
function sparseEvents(): { partition: number; e: string }[] {
  const out: { partition: number; e: string }[] = [];
  for (const partition of [0, 1])
    for (let i = 0; i < 6000; i++)
      out.push({ partition, e: JSON.stringify({ k: `k${i % 5}`, ts: T0 + i * 600 + partition * 300 }) });
  for (let i = 0; i < 20; i++) out.push({ partition: 2, e: JSON.stringify({ k: 'early', ts: T0 + i * 100 }) });
  return out;
}

async function runJob(
  spec: GraphSpec,
  parallelism: number,
  metrics = new JobMetrics(),
  during?: () => Promise<void>,
): Promise<Map<string, Emitted[]>> {
  const results = new Map<string, Emitted[]>();
  for (const s of spec.sinks) results.set(s.name, []);
  const job = new JobExecutor(validateGraph(spec), {
    parallelism,
    logger: silentLogger(),
    metrics,
    sinkWriter: (s) => new CollectingSink(results.get(s.name)),
  });
  const done = job.run();
  let finished = false;
  void done.finally(() => {
    finished = true;
  });
  while (during && !finished) {
    await during();
    await new Promise((r) => setTimeout(r, 20));
  }
  await done;
  return results;
}

describe('event time over Kafka (default watermark alignment)', () => {
  let kafka: KafkaClient;
  const run = randomUUID().slice(0, 8);
  const backlog = `it-event-time-${run}`;
  const backfill = `it-backfill-${run}`;
  const sparse = `it-caught-up-${run}`;
  const bs = testBrokers();
  const evs = events();

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'tributary-it', brokers: bs, logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [backlog]: 4, [backfill]: 2, [sparse]: 5 });
    const producer = inputProducer(kafka);
    await producer.connect();
    for (let from = 0; from < evs.length; from += 5000)
      await producer.send({
        topic: backlog,
        messages: evs.slice(from, from + 5000).map((e, j) => ({ partition: (from + j) % 4, value: JSON.stringify(e) })),
      });
    // An hour of event time: partition 0 has 600 records a minute, partition 1 has 60.
    for (const [partition, perMinute] of [
      [0, 600],
      [1, 60],
    ] as const) {
      const count = perMinute * 60;
      const messages = Array.from({ length: count }, (_, i) => ({
        partition,
        value: JSON.stringify({ k: `k${i % 10}`, p: partition, ts: T0 + Math.floor((i * 3_600_000) / count) }),
      }));
      for (let from = 0; from < count; from += 5000)
        await producer.send({ topic: backfill, messages: messages.slice(from, from + 5000) });
    }
    await producer.send({
      topic: sparse,
      messages: sparseEvents().map(({ partition, e }) => ({ partition, value: e })),
    });
    const txProducer = kafka.producer({
      transactionalId: `it-aborted-${run}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await txProducer.connect();
    const tx = await txProducer.transaction();
    await tx.send({ topic: sparse, messages: [{ partition: 4, value: JSON.stringify({ k: 'aborted', ts: T0 }) }] });
    await tx.abort();
    await txProducer.disconnect();
    await producer.disconnect();
  }, 120_000);

  afterAll(async () => {
    await deleteTopicsContaining(kafka, run);
  });

  it('a 4-partition backlog gives the same late output, windows and dedupe at p1, p2 and p4, equal to the reference', async () => {
    const ref = windowReference(evs, { size: SIZE, lateness: LATENESS, bound: BOUND });
    const dedupe = dedupeReference(
      evs.filter((e) => e.id < N),
      WITHIN,
    );
    expect(ref.late.length).toBe(N / 1000);
    for (const p of [1, 2, 4]) {
      const spec: GraphSpec = {
        sources: [
          {
            name: 'events',
            kafka: { brokers: bs, topic: backlog, groupId: `it-${randomUUID()}`, bounded: 'latest' },
            timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: `${BOUND}ms` },
          },
        ],
        steps: [
          { name: 'by-k', from: 'events', keyBy: 'k' },
          {
            name: 'w',
            from: 'by-k',
            window: { tumbling: { size: `${SIZE}ms` }, allowedLateness: `${LATENESS}ms`, lateOutput: 'late' },
          },
          { name: 'counts', from: 'w', aggregate: { n: 'count()' } },
          { name: 'on-time', from: 'events', filter: `id < ${N}.0` },
          { name: 'on-time-by-k', from: 'on-time', keyBy: 'k' },
          { name: 'first', from: 'on-time-by-k', dedupe: { within: `${WITHIN}ms` } },
        ],
        sinks: [
          { name: 'windows', from: 'counts', console: {} },
          { name: 'late-out', from: 'late', console: {} },
          { name: 'deduped', from: 'first', console: {} },
        ],
      };
      const got = await runJob(spec, p);
      expect(sortedJson((got.get('late-out') as Emitted[]).map((e) => e.rec)), `p${p} late`).toEqual(ref.late);
      expect(finalWindows(got.get('windows') as Emitted[], 'k'), `p${p} windows`).toEqual(ref.windows);
      expect(sortedJson((got.get('deduped') as Emitted[]).map((e) => e.rec)), `p${p} dedupe`).toEqual(dedupe);
    }
  }, 240_000);

  it('a backfill keeps window state bounded by the drift, and p2 gives the results of p1', async () => {
    // A group per run: without checkpoints a run commits its position to its group when it ends, and a
    // second run in the same group would resume after the first one's input.
    const spec = (): GraphSpec => ({
      sources: [
        {
          name: 'history',
          kafka: { brokers: bs, topic: backfill, groupId: `it-${randomUUID()}`, bounded: 'latest' },
          timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '0ms' },
        },
      ],
      steps: [
        { name: 'by-k', from: 'history', keyBy: 'k' },
        { name: 'w', from: 'by-k', window: { tumbling: { size: '1m' } } },
        { name: 'counts', from: 'w', aggregate: { n: 'count()' } },
      ],
      sinks: [{ name: 'out', from: 'counts', console: {} }],
    });
    const outputs: string[][] = [];
    for (const p of [1, 2]) {
      const metrics = new JobMetrics();
      let peak = 0;
      const sample = async (): Promise<void> => {
        const text = await metrics.registry.metrics();
        let total = 0;
        for (const m of text.matchAll(/^tributary_operator_timers\{step="w",slot="\d+"\} (\d+)$/gm))
          total += Number(m[1]);
        peak = Math.max(peak, total);
      };
      const got = await runJob(spec(), p, metrics, sample);
      const rows = finalWindows(got.get('out') as Emitted[], 'k');
      // 10 keys × 60 minutes; each minute: 600 + 60 records over 10 keys.
      expect(rows.length, `p${p}`).toBe(600);
      for (const r of rows) expect((JSON.parse(r) as { n: number }).n, `p${p} ${r}`).toBe(66);
      outputs.push(rows);
      // Open windows: the keys' windows between the window step's watermark and the newest
      // record read. Alignment keeps the newest within maxDrift (20 s) plus a quarter of it per
      // poll of the group's minimum: 2 one-minute windows per key. The step's watermark trails
      // that minimum by what the exchange holds in flight (a few hundred records here, tens of
      // seconds of event time on a loaded machine), so one more window per key may be open:
      // at most 30. Without alignment the sparse partition's whole hour arrives in its first
      // fetches: 480-600 (measured with `alignment: false`).
      expect(peak, `p${p} peak timers`).toBeGreaterThan(0);
      expect(peak, `p${p} peak timers`).toBeLessThanOrEqual(30);
    }
    expect(outputs[1]).toEqual(outputs[0]);
  }, 240_000);

  it('a partition that never gets a record and one that stopped getting them do not stall the others', async () => {
    const expected = new Map<string, number>();
    for (const { e } of sparseEvents()) {
      const r = JSON.parse(e) as { k: string; ts: number };
      const key = `${r.k}@${r.ts - (r.ts % 60_000)}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    for (const p of [1, 2]) {
      const spec: GraphSpec = {
        sources: [
          {
            name: 'live',
            kafka: { brokers: bs, topic: sparse, groupId: `it-${randomUUID()}` },
            timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '0ms' },
          },
        ],
        steps: [
          { name: 'by-k', from: 'live', keyBy: 'k' },
          { name: 'w', from: 'by-k', window: { tumbling: { size: '1m' } } },
          { name: 'counts', from: 'w', aggregate: { n: 'count()' } },
        ],
        sinks: [{ name: 'out', from: 'counts', console: {} }],
      };
      const out: Emitted[] = [];
      const job = new JobExecutor(validateGraph(spec), {
        parallelism: p,
        logger: silentLogger(),
        sinkWriter: () => new CollectingSink(out),
      });
      const done = job.run();
      // Every record read (a stalled group never gets here: the test times out), then a drain
      // fires the windows the empty partition's watermark (−∞, no idleTimeout) kept open.
      while (job.status().recordsIn < SPARSE_TOTAL) await new Promise((r) => setTimeout(r, 50));
      job.stop({ drain: true });
      await done;
      const got = new Map<string, number>();
      for (const { rec } of out) got.set(`${String(rec['k'])}@${Number(rec['window_start'])}`, rec['n'] as number);
      expect(got, `p${p}`).toEqual(expected);
    }
  }, 120_000);
});
