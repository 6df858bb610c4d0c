// A live rescale of an event-time job in one JobExecutor against the real broker: a Kafka source
// with event times → keyBy → 1 s tumbling window count → exactly-once Kafka sink, reading a backlog
// slowly. The partitions that move (2 → 3 to the joining slot; 3 → 2 to slots ahead of them) lag the
// others by 4 s of event time, so their old owners' watermarks are held back by them: a hand-over that
// let the old owner's watermark jump (the moved partition's watermark idled) let the window task's
// watermark pass windows whose records of the moved partitions still came through the new owner, and
// they were dropped as late. With the moved partition's watermark handed over (a floor at the old owner
// until the new owner caught up: exec/watermark-handover.ts) every window's count is exact, as Kafka's
// Java read_committed reader reads it, also with a mapAsync before the keyBy (it holds barriers while busy).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTopicWithJava } from '../../../test/harness/java-topic-reader.ts';
import { readMetadata } from '../checkpoint/metadata.ts';
import { partitionOwner } from '../connectors/kafka/partition-owner.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { FunctionRegistry } from '../graph/function-registry.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { kafkaTestRun } from '../testing/kafka-test-run.ts';
import { createTopics, inputProducer } from '../testing/kafka-topics.ts';
import { readTopic } from '../testing/kafka-reader.ts';
import { createJobExecutor } from '../job/job-executor.ts';

const PARTITIONS = 6;
const PER_PARTITION = 2500;
const BASE = 1_700_000_000_000;
const LAG_MS = 4000;
const USERS = 5;

const functions: FunctionRegistry = new Map([
  [
    'slow', // sources emit slower than they fetch: the rescale lands mid-backlog
    {
      kind: 'map',
      fn: (r: unknown) => {
        const until = performance.now() + 0.2;
        while (performance.now() < until);
        return r;
      },
    },
  ],
  [
    'slow-async', // the same through an async operator: busy at most barriers, which it holds until drained
    {
      kind: 'mapAsync',
      fn: async (r: unknown) => {
        const until = performance.now() + 0.2;
        while (performance.now() < until);
        await new Promise((resolve) => setImmediate(resolve));
        return r;
      },
    },
  ],
]);

const graph = (bs: string[], input: string, output: string, slow: 'map' | 'mapAsync'): GraphSpec => ({
  sources: [
    {
      name: 'in',
      kafka: { brokers: bs, topic: input, groupId: `it-wm-${input}`, schema: { user: 'string', ts: 'double' } },
      timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '200ms' },
    },
  ],
  steps: [
    {
      name: 'slow',
      from: 'in',
      function: slow === 'map' ? { kind: 'map', ref: 'slow' } : { kind: 'mapAsync', ref: 'slow-async', capacity: 32 },
    },
    { name: 'by-user', from: 'slow', keyBy: 'user' },
    { name: 'per-1s', from: 'by-user', window: { tumbling: { size: '1s' } } },
    { name: 'totals', from: 'per-1s', aggregate: { n: 'count()' } },
  ],
  sinks: [
    { name: 'out', from: 'totals', kafka: { brokers: bs, topic: output, key: 'user', delivery: 'exactly-once' } },
  ],
});

describe('live rescale of an event-time job (real Kafka)', () => {
  const { run, bs, kafka } = kafkaTestRun('tributary-live-wm-it');
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  /** `from` → `to` while the partitions that move lag the others by LAG_MS of event time. */
  async function rescaleLagging(
    name: string,
    from: number,
    to: number,
    slow: 'map' | 'mapAsync' = 'map',
  ): Promise<void> {
    const input = `it-wm-in-${name}-${run}`;
    const output = `it-wm-out-${name}-${run}`;
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 3 });
    const moving = [...Array(PARTITIONS).keys()].filter(
      (q) => partitionOwner(input, q, from) !== partitionOwner(input, q, to),
    );
    expect(moving.length).toBeGreaterThan(0);
    const ts = (q: number, j: number): number => BASE + 2 * j - (moving.includes(q) ? LAG_MS : 0);
    const reference = new Map<string, number>();
    const producer = inputProducer(kafka);
    await producer.connect();
    for (let q = 0; q < PARTITIONS; q++) {
      const messages = Array.from({ length: PER_PARTITION }, (_, j) => {
        const user = `u${q}-${j % USERS}`;
        const t = ts(q, j);
        const w = `${user}|${t - (t % 1000)}`;
        reference.set(w, (reference.get(w) ?? 0) + 1);
        return { key: user, partition: q, value: JSON.stringify({ user, ts: t }) };
      });
      // Last, one far-future record per partition: the watermark passes every real window.
      messages.push({ key: 'flush', partition: q, value: JSON.stringify({ user: 'flush', ts: BASE + 3_600_000 }) });
      await producer.send({ topic: input, messages });
    }
    await producer.disconnect();
    const total = PARTITIONS * (PER_PARTITION + 1);

    const stateDir = await mkdtemp(join(tmpdir(), 'trib-live-wm-'));
    dirs.push(stateDir);
    const job = await createJobExecutor(validateGraph(graph(bs, input, output, slow)), {
      parallelism: from,
      maxParallelism: 128,
      logger: silentLogger(),
      jobName: 'live-wm-it',
      checkpointing: { stateDir, intervalMs: 100, timeoutMs: 30_000 },
      batchSize: 64,
      functions,
    });
    const done = job.run();
    done.catch(() => undefined);
    await expect.poll(() => job.status().recordsIn, { timeout: 60_000, interval: 20 }).toBeGreaterThan(1500);
    expect(job.status().recordsIn, 'rescaled mid-backlog').toBeLessThan(total / 2);
    const out = await job.rescale(to, { budgetBytes: 1 << 20 });
    expect(out).toMatchObject({ from, to, phase: 'done' });
    await expect
      .poll(
        async () => {
          const m = await readMetadata((await job.triggerCheckpoint()).path);
          let sum = 0n;
          for (const s of m.sources['in'] ?? [])
            for (const o of Object.values((s.position as { offsets: Record<string, string> }).offsets))
              sum += BigInt(o);
          return Number(sum);
        },
        { timeout: 120_000, interval: 200 },
      )
      .toBe(total);
    // Every window (user, second) gives one output record once the flush records' watermark passed it: a moved
    // partition's floor goes only at a barrier after its new owner caught up, so it may take a few checkpoints.
    const windows = [...reference.keys()].length;
    await readTopic(kafka, output, { expected: windows, timeoutMs: 60_000, settleMs: 0 }).catch(() => undefined);
    await job.triggerSavepoint({ stop: true });
    expect(((await done) as { state: string }).state).toBe('STOPPED');

    const got = new Map<string, number>();
    for (const r of await readTopicWithJava(bs.join(','), output, 'read_committed')) {
      const v = JSON.parse(r.value) as { user: string; window_start: number; n: number };
      const w = `${v.user}|${v.window_start}`;
      got.set(w, (got.get(w) ?? 0) + v.n);
    }
    const wrong = [...new Set([...reference.keys(), ...got.keys()])]
      .filter((w) => got.get(w) !== reference.get(w))
      .map((w) => `${w}: ${got.get(w) ?? 0} of ${reference.get(w) ?? 0}`);
    const lost = [...reference].reduce((n, [w, c]) => n + Math.max(0, c - (got.get(w) ?? 0)), 0);
    expect({ lost, wrong: wrong.slice(0, 10) }).toEqual({ lost: 0, wrong: [] });
  }

  it('2 → 3 moving lagging partitions to the joining slot: every window count exact', async () => {
    await rescaleLagging('out', 2, 3);
  }, 240_000);

  it('3 → 2 moving lagging partitions to slots ahead of them: every window count exact', async () => {
    await rescaleLagging('in', 3, 2);
  }, 240_000);

  // The old owners' floors are released at a barrier their mapAsync may hold: the watermark jump must follow it.
  it('3 → 2 with a mapAsync before the keyBy: every window count exact', async () => {
    await rescaleLagging('in-async', 3, 2, 'mapAsync');
  }, 240_000);
});
