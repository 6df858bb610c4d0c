// A real change of parallelism of a running job in one JobExecutor (JobExecutor.rescale:
// live-rescale.ts, slot-join.ts, slot-drain.ts), against the real broker: a job at parallelism 2
// reads a 6-partition topic that a producer keeps writing → keyBy → a rolling count (and the
// highest id) per key → an exactly-once Kafka sink, checkpointing every 100 ms. Mid-stream slot 2
// joins (rescale(3)), and leaves again (rescale(2)). Kafka's Java read_committed consumer must
// read exactly the reference computed from the input written: every key's counts 1..n with the id
// of its n-th record — a record lost, emitted twice or counted by two slots shows as missing,
// duplicated or unexpected. Every checkpoint lists each partition once; a crash after the scale
// out and a restart from the last checkpoint at 3 continue exactly-once; 3 → 1 → 2 brings slot 1
// back below the starting parallelism (its source must take only what a step gives it); a crash
// while a slot joins ends the rescale instead of leaving it waiting for loops that stopped.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { deliveryDiff, readTopicWithJava } from '../../../test/harness/java-topic-reader.ts';
import { latestCheckpointPath } from '../checkpoint/coordinator.ts';
import { readMetadata } from '../checkpoint/metadata.ts';
import { partitionOwner } from '../connectors/kafka/partition-owner.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { FunctionRegistry } from '../graph/function-registry.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { createLogger, silentLogger } from '../telemetry/logger.ts';
import { kafkaTestRun } from '../testing/kafka-test-run.ts';
import { createTopics, inputProducer } from '../testing/kafka-topics.ts';
import { createJobExecutor, type JobExecutor } from './job-executor.ts';

const PARTITIONS = 6;
const MAXP = 128;
const KEYS = 60;
const CHUNKS = 60;
const PER_CHUNK = 300;
const RECORDS = CHUNKS * PER_CHUNK;
/** Chunks written only after the migrations. */
const TAIL = 5;
const SLOTS = 3;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('live rescale: slots join and leave a running job (real Kafka)', () => {
  const { run, bs, kafka } = kafkaTestRun('tributary-live-rescale-it');
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const graph = (input: string, output: string, discovery: string): GraphSpec => ({
    sources: [
      {
        name: 'events',
        // With discovery on, a slot must not take back a partition it handed over; with it off, a
        // slot that handed over every partition must not end (it may get some back).
        kafka: { brokers: bs, topic: input, groupId: `it-resc-${input}`, partitionDiscoveryInterval: discovery },
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
        kafka: { brokers: bs, topic: output, key: 'k', transactionalIdPrefix: `it-resc-${output}` },
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
    const w = { backlog, all: writeInput(kafka, topic, 150, held), tail, done: false };
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
    [...Array(SLOTS).keys()].map((s) => [...Array(PARTITIONS).keys()].filter((q) => partitionOwner(topic, q, p) === s));
  const owned = (pos: Map<number, Record<string, string>>): number[][] =>
    [...Array(SLOTS).keys()].map((s) =>
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

  it('2 → 3 → 2 while input arrives: read_committed output equals the reference', async () => {
    const input = `it-resc-in-${run}`;
    const output = `it-resc-out-${run}`;
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 3 });
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-rescale-kafka-'));
    dirs.push(stateDir);
    const written = writing(input);
    await written.backlog;
    const a = await start(input, output, 2, stateDir);
    await expect.poll(() => a.job.status().recordsIn, { timeout: 60_000, interval: 20 }).toBeGreaterThan(1500);
    const phases: string[] = [];
    // A small budget after a checkpoint of the state so far (the plan's sizes): many steps, so slot 2 reads and
    // routes records while key groups still move.
    await a.job.triggerCheckpoint();
    const out = await a.job.rescale(3, { budgetBytes: 1, onProgress: (p) => phases.push(p.phase) });
    expect(out).toMatchObject({ from: 2, to: 3, phase: 'done' });
    expect(out.stepsDone).toBe(out.steps);
    expect(out.steps).toBeGreaterThan(10);
    expect(out.keyGroupsMoved).toBe(out.keyGroups);
    expect(new Set(phases)).toEqual(new Set(['joining', 'moving', 'done']));
    expect(a.job.parallelism).toBe(3);
    expect(a.job.status().parallelism).toBe(3);
    expect(owned(await positions((await a.job.triggerCheckpoint()).path))).toEqual(formula(input, 3));
    const back = await a.job.rescale(2, { budgetBytes: 2400 });
    expect(back).toMatchObject({ from: 3, to: 2, phase: 'done' });
    expect(a.job.parallelism).toBe(2);
    expect(written.done, 'rescaled while the input is still written').toBe(false);
    const cp = await a.job.triggerCheckpoint();
    expect((await readMetadata(cp.path)).parallelism).toBe(2);
    expect(owned(await positions(cp.path))).toEqual(formula(input, 2));
    written.tail();
    await written.all;
    await readToEnd(a.job);
    await a.job.triggerSavepoint({ stop: true });
    expect(((await a.done) as { state: string }).state).toBe('STOPPED');
    expectExactly(await committedOutput(output));
    expect(await eachPartitionOnce(stateDir)).toBeGreaterThan(10);
  }, 180_000);

  it('crash after 2 → 3, restart at 3 from the last checkpoint: exactly-once', async () => {
    const input = `it-resc-crash-in-${run}`;
    const output = `it-resc-crash-out-${run}`;
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 3 });
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-rescale-kafka-'));
    dirs.push(stateDir);
    const written = writing(input);
    await written.backlog;
    const a = await start(input, output, 2, stateDir);
    await expect.poll(() => a.job.status().recordsIn, { timeout: 60_000, interval: 20 }).toBeGreaterThan(1500);
    await a.job.rescale(3, { budgetBytes: 2400 });
    await a.job.triggerCheckpoint();
    await sleep(300);
    a.job.crash();
    await expect(a.done).rejects.toMatchObject({ code: 'TRIB_JOB_FAILED' });
    const latest = (await latestCheckpointPath(stateDir)) as string;
    expect((await readMetadata(latest)).parallelism).toBe(3);
    expect(owned(await positions(latest))).toEqual(formula(input, 3));
    const b = await start(input, output, 3, stateDir, latest);
    written.tail();
    await written.all;
    await readToEnd(b.job);
    await b.job.triggerSavepoint({ stop: true });
    expect(((await b.done) as { state: string }).state).toBe('STOPPED');
    expectExactly(await committedOutput(output));
    expect(await eachPartitionOnce(stateDir)).toBeGreaterThan(5);
  }, 180_000);

  it('3 → 1 → 2: a slot below the starting parallelism joins again and reads only what a step gives it', async () => {
    const input = `it-resc-31-in-${run}`;
    const output = `it-resc-31-out-${run}`;
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 3 });
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-rescale-kafka-'));
    dirs.push(stateDir);
    const written = writing(input);
    await written.backlog;
    const a = await start(input, output, 3, stateDir);
    await expect.poll(() => a.job.status().recordsIn, { timeout: 60_000, interval: 20 }).toBeGreaterThan(1500);
    expect(await a.job.rescale(1, { budgetBytes: 2400 })).toMatchObject({ from: 3, to: 1, phase: 'done' });
    const one = await a.job.triggerCheckpoint();
    expect((await readMetadata(one.path)).parallelism).toBe(1);
    expect(owned(await positions(one.path))).toEqual(formula(input, 1));
    // Slot 1 joins again: the starting parallelism (3) would give it partitions; it must take only the step's.
    expect(await a.job.rescale(2, { budgetBytes: 2400 })).toMatchObject({ from: 1, to: 2, phase: 'done' });
    expect(owned(await positions((await a.job.triggerCheckpoint()).path))).toEqual(formula(input, 2));
    expect(written.done, 'rescaled while the input is still written').toBe(false);
    written.tail();
    await written.all;
    await readToEnd(a.job);
    await a.job.triggerSavepoint({ stop: true });
    expect(((await a.done) as { state: string }).state).toBe('STOPPED');
    expectExactly(await committedOutput(output));
    expect(await eachPartitionOnce(stateDir)).toBeGreaterThan(5);
  }, 180_000);

  it('a job that crashes while a slot joins ends the rescale (TRIB_RESCALE_STEP_FAILED), not hangs it', async () => {
    const input = `it-resc-gone-in-${run}`;
    const output = `it-resc-gone-out-${run}`;
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 3 });
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-rescale-kafka-'));
    dirs.push(stateDir);
    const written = writing(input);
    await written.backlog;
    const a = await start(input, output, 2, stateDir);
    await expect.poll(() => a.job.status().recordsIn, { timeout: 60_000, interval: 20 }).toBeGreaterThan(500);
    const rescale = a.job.rescale(3, {
      onProgress: (p) => {
        if (p.phase === 'joining') a.job.crash(); // the slot loops stop: wiring posted to them would never run
      },
    });
    await expect(rescale).rejects.toMatchObject({ code: 'TRIB_RESCALE_STEP_FAILED' });
    await expect(a.done).rejects.toMatchObject({ code: 'TRIB_JOB_FAILED' });
    written.tail();
    await written.all;
  }, 180_000);
});
