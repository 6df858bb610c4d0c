// A keyed exactly-once Kafka job for the live-rescale tests against the real broker
// (exec/live-migration-kafka.int, exec/live-rescale-kafka.int): a 6-partition topic a producer
// keeps writing (a backlog first, its last chunks only when the test lets them go) → a map that
// makes the sources slower than their fetches (a partition handed over leaves fetched records
// queued) → keyBy → a rolling count and the highest id per key → an exactly-once Kafka sink,
// checkpointing every 100 ms with every checkpoint kept. The reference is every key's counts
// 1..n with the id of its n-th record (keys stay on one partition, so their order is the
// partition's): a record lost, emitted twice or counted by two slots shows as missing,
// duplicated or unexpected in Kafka's Java read_committed reader. Test-only.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kafka as KafkaClient } from 'kafkajs';
import { expect } from 'vitest';
import { deliveryDiff, readTopicWithJava } from '../../../test/harness/java-topic-reader.ts';
import { readMetadata } from '../checkpoint/metadata.ts';
import { partitionOwner } from '../connectors/kafka/partition-owner.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { createJobExecutor, type JobExecutor } from '../job/job-executor.ts';
import type { FunctionRegistry } from '../graph/function-registry.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { createLogger, silentLogger } from '../telemetry/logger.ts';
import { inputProducer } from './kafka-topics.ts';
import { planMigration, type MigrationPlan } from '../rescale/plan.ts';

export const PARTITIONS = 6;
export const MAXP = 128;
export const KEYS = 60;
export const CHUNKS = 60;
export const PER_CHUNK = 300;
export const RECORDS = CHUNKS * PER_CHUNK;
/** Chunks written only after the migrations. */
export const TAIL = 5;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The plan `from` → `to` for the job's source `events` reading `topic`, its partitions where a run at `from` put them
 * (all of them, or `partitions`), every key group 100 bytes, steps of at most 24 key groups per slot (2,400 bytes).
 */
export function formulaPlan(
  topic: string,
  from: number,
  to: number,
  partitions: readonly number[] = [...Array(PARTITIONS).keys()],
): MigrationPlan {
  return planMigration({
    maxParallelism: MAXP,
    from,
    to,
    keyGroupBytes: new Array<number>(MAXP).fill(100),
    partitions: partitions.map((partition) => ({
      source: 'events',
      topic,
      partition,
      owner: partitionOwner(topic, partition, from),
    })),
    budget: { bytes: 2400 },
  });
}

/** The job's pieces for one test file: `prefix` names its group ids and transactional ids, `slots` the most it runs. */
export function liveKafkaJob(o: { bs: string[]; kafka: KafkaClient; prefix: string; slots: number }) {
  const { bs } = o;
  /** `discovery`: the source's partitionDiscoveryInterval (absent: the source's default). */
  const graph = (input: string, output: string, discovery?: string): GraphSpec => ({
    sources: [
      {
        name: 'events',
        // With discovery on, a slot must not take back a partition it handed over; with it off, a
        // slot that handed over every partition must not end (it may get some back).
        kafka: {
          brokers: bs,
          topic: input,
          groupId: `${o.prefix}-${input}`,
          ...(discovery ? { partitionDiscoveryInterval: discovery } : {}),
        },
      },
    ],
    steps: [
      { name: 'slow', from: 'events', function: { kind: 'map', ref: 'slow' } },
      { name: 'byKey', from: 'slow', keyBy: 'k' },
      { name: 'running', from: 'byKey', aggregate: { n: 'count()', maxId: 'max(id)' } },
    ],
    sinks: [
      {
        name: 'out',
        from: 'running',
        kafka: { brokers: bs, topic: output, key: 'k', transactionalIdPrefix: `${o.prefix}-${output}` },
      },
    ],
  });

  /**
   * Chained to each source: 0.2 ms per record, so a source emits slower than its consumer fetches
   * and a partition handed over leaves fetched records in its queue (dropped, never emitted there).
   */
  const functions: FunctionRegistry = new Map([
    [
      'slow',
      {
        kind: 'map',
        fn: (r: unknown) => {
          const until = performance.now() + 0.2;
          while (performance.now() < until);
          return r;
        },
      },
    ],
  ]);

  /**
   * Writes RECORDS records in CHUNKS sends keyed by k (a key stays on one partition): the first
   * half at once (a backlog: the sources fetch far ahead of what they emit, so a partition handed
   * over leaves fetched records behind), the rest `pauseMs` apart, the last TAIL of them once
   * `tail` resolves (input still arrives after the migrations, however slow the machine).
   */
  async function writeInput(k: KafkaClient, topic: string, pauseMs: number, tail: Promise<void>): Promise<void> {
    const producer = inputProducer(k);
    await producer.connect();
    for (let c = 0; c < CHUNKS; c++) {
      if (c === CHUNKS / 2) backlogWritten();
      if (c === CHUNKS - TAIL) await tail;
      const messages = Array.from({ length: PER_CHUNK }, (_, j) => {
        const id = c * PER_CHUNK + j;
        return { key: `k${id % KEYS}`, value: JSON.stringify({ id, k: `k${id % KEYS}` }) };
      });
      await producer.send({ topic, messages });
      if (c >= CHUNKS / 2) await sleep(pauseMs);
    }
    await producer.disconnect();
  }
  let backlogWritten: () => void = () => undefined;
  /** Input written, the backlog first; `tail()` lets the last chunks go. */
  function writing(topic: string): { backlog: Promise<void>; all: Promise<void>; tail(): void; done: boolean } {
    const backlog = new Promise<void>((r) => (backlogWritten = r));
    let tail = (): void => undefined;
    const held = new Promise<void>((r) => (tail = r));
    const w = { backlog, all: writeInput(o.kafka, topic, 150, held), tail, done: false };
    void w.all.then(() => (w.done = true));
    return w;
  }

  /** What the job must write: per key, its n-th record's count n and id (ids ascend per key). */
  function reference(): string[] {
    const seen = new Map<string, number>();
    const out: string[] = [];
    for (let id = 0; id < RECORDS; id++) {
      const k = `k${id % KEYS}`;
      const n = (seen.get(k) ?? 0) + 1;
      seen.set(k, n);
      out.push(`${k}:${n}:${id}`);
    }
    return out;
  }

  async function committedOutput(output: string): Promise<string[]> {
    const recs = await readTopicWithJava(bs.join(','), output, 'read_committed');
    return recs.map((r) => {
      const v = JSON.parse(r.value) as { k: string; n: number; maxId: number };
      return `${v.k}:${v.n}:${v.maxId}`;
    });
  }

  async function start(
    input: string,
    output: string,
    p: number,
    stateDir: string,
    restoreFrom?: string,
    discovery = '500ms',
  ): Promise<{ job: JobExecutor; done: Promise<unknown> }> {
    const job = await createJobExecutor(validateGraph(graph(input, output, discovery)), {
      parallelism: p,
      maxParallelism: MAXP,
      logger: process.env['LIVE_DIAG'] ? createLogger('warn') : silentLogger(),
      jobName: 'live-kafka-it',
      // Every checkpoint kept: each must list each partition once (the steps' own among them).
      checkpointing: { stateDir, intervalMs: 100, timeoutMs: 30_000, retained: 10_000 },
      batchSize: 64,
      functions,
      ...(restoreFrom ? { restoreFrom } : {}),
    });
    const done = job.run();
    done.catch(() => undefined);
    return { job, done };
  }

  /** The source's partitions per slot in the checkpoint at `path`: slot → partition → offset. */
  async function positions(path: string): Promise<Map<number, Record<string, string>>> {
    const m = await readMetadata(path);
    const out = new Map<number, Record<string, string>>();
    for (const s of m.sources['events'] ?? [])
      out.set(s.slot, (s.position as { offsets: Record<string, string> }).offsets);
    return out;
  }

  /** Slot → its partitions, as owned at parallelism `p` (in a slot → offsets map, 3 slots). */
  const formula = (topic: string, p: number): number[][] =>
    [...Array(o.slots).keys()].map((s) =>
      [...Array(PARTITIONS).keys()].filter((q) => partitionOwner(topic, q, p) === s),
    );
  const owned = (pos: Map<number, Record<string, string>>): number[][] =>
    [...Array(o.slots).keys()].map((s) =>
      Object.keys(pos.get(s) ?? {})
        .map(Number)
        .sort((a, b) => a - b),
    );

  /** Every checkpoint of `stateDir` lists every partition exactly once, over all slots; returns how many there are. */
  async function eachPartitionOnce(stateDir: string): Promise<number> {
    const dirs = (await readdir(join(stateDir, 'checkpoints'))).filter((d) => d.startsWith('chk-'));
    for (const d of dirs) {
      const listed = [...(await positions(join(stateDir, 'checkpoints', d))).values()].flatMap((o) => Object.keys(o));
      expect(
        listed.map(Number).sort((a, b) => a - b),
        d,
      ).toEqual([...Array(PARTITIONS).keys()]);
    }
    return dirs.length;
  }

  /** Checkpoints until one records every input record read (positions summing to RECORDS). */
  async function readToEnd(job: JobExecutor): Promise<void> {
    await expect
      .poll(
        async () => {
          const cp = await job.triggerCheckpoint();
          let sum = 0n;
          for (const offs of (await positions(cp.path)).values()) for (const o of Object.values(offs)) sum += BigInt(o);
          return Number(sum);
        },
        { timeout: 90_000, interval: 200 },
      )
      .toBe(RECORDS);
  }

  function expectExactly(got: string[]): void {
    const { missing, duplicated, unexpected } = deliveryDiff(reference(), got);
    expect({ missing: missing.length, duplicated: duplicated.length, unexpected: unexpected.length }).toEqual({
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
    expect(got.length).toBe(RECORDS);
  }
  return {
    graph,
    functions,
    writing,
    reference,
    committedOutput,
    start,
    positions,
    formula,
    owned,
    eachPartitionOnce,
    readToEnd,
    expectExactly,
  };
}
