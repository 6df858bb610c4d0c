// Live migration across slot processes (exec/live-migration.ts with a MigrationTransport), against
// the real broker: three SlotProcess instances in this test process, linked by real DataPlanes on
// loopback, run a job at parallelism 3: a 6-partition topic a producer keeps writing → keyBy → a
// rolling count (and the highest id) per key → an exactly-once Kafka sink, checkpointing every
// 100 ms. Slot 0's process migrates mid-stream to 2 slots' assignment (slot 2's key groups and
// partitions move to slots 0 and 1, in other processes) and back to 3: the steps ride on triggers
// that carry them, hand-offs and positions cross the data plane. Kafka's Java read_committed
// consumer must read exactly the reference computed from the input written (0 missing, 0 duplicated).
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka as KafkaClient } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { deliveryDiff, readTopicWithJava } from '../../../test/harness/java-topic-reader.ts';
import { latestCheckpointPath } from '../checkpoint/checkpoint-storage.ts';
import { readMetadata } from '../checkpoint/metadata.ts';
import { partitionOwner } from '../connectors/kafka/partition-owner.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { FunctionRegistry } from '../graph/function-registry.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { planMigration, type MigrationPlan } from '../rescale/plan.ts';
import { createLogger, silentLogger } from '../telemetry/logger.ts';
import { kafkaTestRun } from '../testing/kafka-test-run.ts';
import { createTopics, inputProducer } from '../testing/kafka-topics.ts';
import type { JobExecutor } from '../exec/job-executor.ts';
import { SlotProcess } from './slot-process.ts';

const P = 3;
const PARTITIONS = 6;
const MAXP = 128;
const KEYS = 60;
const CHUNKS = 50;
const PER_CHUNK = 300;
const RECORDS = CHUNKS * PER_CHUNK;
const TAIL = 5;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('live migration between slot processes (data plane, real Kafka)', () => {
  const { run, bs, kafka } = kafkaTestRun('tributary-xproc-it');
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const graph = (input: string, output: string, discovery?: string): GraphSpec => ({
    sources: [
      {
        name: 'events',
        kafka: {
          brokers: bs,
          topic: input,
          groupId: `it-xproc-${input}`,
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
        kafka: { brokers: bs, topic: output, key: 'k', transactionalIdPrefix: `it-xproc-${output}` },
      },
    ],
  });

  /** 0.2 ms per record at the source: partitions handed over leave fetched records behind. */
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

  /** Half the input at once (a backlog), the rest 150 ms apart, the last TAIL chunks once `tail` resolves. */
  async function writeInput(k: KafkaClient, topic: string, backlog: () => void, tail: Promise<void>): Promise<void> {
    const producer = inputProducer(k);
    await producer.connect();
    for (let c = 0; c < CHUNKS; c++) {
      if (c === CHUNKS / 2) backlog();
      if (c === CHUNKS - TAIL) await tail;
      const messages = Array.from({ length: PER_CHUNK }, (_, j) => {
        const id = c * PER_CHUNK + j;
        return { key: `k${id % KEYS}`, value: JSON.stringify({ id, k: `k${id % KEYS}` }) };
      });
      await producer.send({ topic, messages });
      if (c >= CHUNKS / 2) await sleep(150);
    }
    await producer.disconnect();
  }

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

  const plan = (topic: string, from: number, to: number): MigrationPlan =>
    planMigration({
      maxParallelism: MAXP,
      from,
      to,
      keyGroupBytes: new Array<number>(MAXP).fill(100),
      partitions: Array.from({ length: PARTITIONS }, (_, partition) => ({
        source: 'events',
        topic,
        partition,
        owner: partitionOwner(topic, partition, from),
      })),
      budget: { bytes: 2400 },
    });

  /** Slot → its partitions in the checkpoint at `path`. */
  async function owned(path: string): Promise<number[][]> {
    const m = await readMetadata(path);
    const out: number[][] = Array.from({ length: P }, () => []);
    for (const s of m.sources['events'] ?? [])
      out[s.slot] = Object.keys((s.position as { offsets: Record<string, string> }).offsets)
        .map(Number)
        .sort((a, b) => a - b);
    return out;
  }
  /** Some slot of `slots` owns none of partitions 0 and 1 of `topic` at parallelism P. */
  const idleAt = (topic: string, slots: number[]): boolean =>
    slots.some((s) => ![0, 1].some((q) => partitionOwner(topic, q, P) === s));
  const formula = (topic: string, p: number): number[][] =>
    [...Array(P).keys()].map((s) => [...Array(PARTITIONS).keys()].filter((q) => partitionOwner(topic, q, p) === s));

  it('3 → 2 → 3 with key groups and partitions crossing processes: read_committed output equals the reference', async () => {
    const input = `it-xproc-in-${run}`;
    const output = `it-xproc-out-${run}`;
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 3 });
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-xproc-'));
    dirs.push(stateDir);
    let backlogWritten!: () => void;
    const backlog = new Promise<void>((r) => (backlogWritten = r));
    let tail!: () => void;
    const held = new Promise<void>((r) => (tail = r));
    let written = false;
    const all = writeInput(kafka, input, backlogWritten, held).then(() => (written = true));
    await backlog;

    let release!: (addresses: string[]) => void;
    const known = new Promise<string[]>((r) => (release = r));
    const slots = [...Array(P).keys()].map(
      (slot) =>
        new SlotProcess({
          jobName: 'xproc-it',
          graph: validateGraph(graph(input, output)),
          slot,
          parallelism: P,
          maxParallelism: MAXP,
          deploymentId: `dep-${run}`,
          secret: 'secret-of-the-xproc-test',
          host: '127.0.0.1',
          dataPort: 0,
          discover: () => known,
          logger: process.env['LIVE_DIAG'] ? createLogger('warn') : silentLogger(),
          checkpointing: { stateDir, intervalMs: 100, timeoutMs: 30_000, retained: 10_000 },
          job: { batchSize: 64, functions },
        }),
    );
    for (const s of slots) await s.listen();
    const runs = slots.map((s) => s.run());
    for (const r of runs) r.catch(() => undefined);
    release(slots.map((s) => s.address));
    await expect.poll(() => slots.every((s) => s.jobState === 'RUNNING'), { timeout: 60_000 }).toBe(true);
    const job = slots[0]?.executor as JobExecutor;
    const recordsIn = (): number => slots.reduce((n, s) => n + (s.executor?.status().recordsIn ?? 0), 0);
    await expect.poll(recordsIn, { timeout: 60_000, interval: 20 }).toBeGreaterThan(1500);

    const down = plan(input, P, 2);
    expect(down.movedPartitions).toBeGreaterThan(0);
    expect(down.steps.length).toBeGreaterThan(1);
    await job.migrate(down);
    expect(await owned((await job.triggerCheckpoint()).path)).toEqual(formula(input, 2));
    await sleep(300);
    await job.migrate(plan(input, 2, P));
    expect(written, 'migrated back while the input is still written').toBe(false);
    tail();
    expect(await owned((await job.triggerCheckpoint()).path)).toEqual(formula(input, P));
    await all;
    // Checkpoints until one records every input record read.
    await expect
      .poll(
        async () => {
          const m = await readMetadata((await job.triggerCheckpoint()).path);
          let sum = 0n;
          for (const s of m.sources['events'] ?? [])
            for (const o of Object.values((s.position as { offsets: Record<string, string> }).offsets))
              sum += BigInt(o);
          return Number(sum);
        },
        { timeout: 90_000, interval: 200 },
      )
      .toBe(RECORDS);
    await job.triggerSavepoint({ stop: true });
    for (const r of runs) expect((await r).state).toBe('STOPPED');

    const got = (await readTopicWithJava(bs.join(','), output, 'read_committed')).map((r) => {
      const v = JSON.parse(r.value) as { k: string; n: number; maxId: number };
      return `${v.k}:${v.n}:${v.maxId}`;
    });
    const { missing, duplicated, unexpected } = deliveryDiff(reference(), got);
    expect({ missing: missing.length, duplicated: duplicated.length, unexpected: unexpected.length }).toEqual({
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
    expect(got.length).toBe(RECORDS);
    // Every checkpoint lists every partition once over all slots (the steps' own among them).
    const chks = (await readdir(join(stateDir, 'checkpoints'))).filter((d) => d.startsWith('chk-'));
    for (const d of chks)
      expect(
        (await owned(join(stateDir, 'checkpoints', d))).flat().sort((a, b) => a - b),
        d,
      ).toEqual([...Array(PARTITIONS).keys()]);
    expect(chks.length).toBeGreaterThan(10);
  }, 240_000);

  /** Slot processes of `spec` on loopback (3, or `o.parallelism`), running; slot 0's executor drives. */
  async function start(
    spec: GraphSpec,
    timeoutMs: number,
    o: { parallelism?: number; restoreFrom?: string } = {},
  ): Promise<{ slots: SlotProcess[]; runs: Promise<unknown>[]; stateDir: string }> {
    const parallelism = o.parallelism ?? P;
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-xproc-'));
    dirs.push(stateDir);
    let release!: (addresses: string[]) => void;
    const known = new Promise<string[]>((r) => (release = r));
    const slots = [...Array(parallelism).keys()].map(
      (slot) =>
        new SlotProcess({
          jobName: 'xproc-it',
          graph: validateGraph(spec),
          slot,
          parallelism,
          maxParallelism: MAXP,
          deploymentId: `dep-${run}-${spec.sources[0]?.name ?? ''}-${timeoutMs}-${stateDir}`,
          secret: 'secret-of-the-xproc-test',
          host: '127.0.0.1',
          dataPort: 0,
          discover: () => known,
          logger: process.env['LIVE_DIAG'] ? createLogger('warn') : silentLogger(),
          checkpointing: { stateDir, intervalMs: 100, timeoutMs, retained: 10_000 },
          ...(o.restoreFrom ? { restoreFrom: o.restoreFrom } : {}),
          job: { batchSize: 64, functions },
        }),
    );
    for (const s of slots) await s.listen();
    const runs = slots.map((s) => s.run());
    for (const r of runs) r.catch(() => undefined);
    release(slots.map((s) => s.address));
    await expect.poll(() => slots.every((s) => s.jobState === 'RUNNING'), { timeout: 60_000 }).toBe(true);
    return { slots, runs, stateDir };
  }

  /** Reads every input record, stops with a savepoint; the output read_committed must equal the reference. */
  async function exactlyOnce(job: JobExecutor, runs: Promise<unknown>[], output: string): Promise<void> {
    await expect.poll(() => readAll(job), { timeout: 90_000, interval: 200 }).toBe(RECORDS);
    await job.triggerSavepoint({ stop: true });
    expect(await ended(runs)).toEqual(runs.map(() => 'STOPPED'));
    const got = (await readTopicWithJava(bs.join(','), output, 'read_committed')).map((r) => {
      const v = JSON.parse(r.value) as { k: string; n: number; maxId: number };
      return `${v.k}:${v.n}:${v.maxId}`;
    });
    const { missing, duplicated, unexpected } = deliveryDiff(reference(), got);
    expect({ missing: missing.length, duplicated: duplicated.length, unexpected: unexpected.length }).toEqual({
      missing: 0,
      duplicated: 0,
      unexpected: 0,
    });
  }

  /** The sum of the input's offsets in a new checkpoint: the records the job has read. */
  async function readAll(job: JobExecutor): Promise<number> {
    const m = await readMetadata((await job.triggerCheckpoint()).path);
    let sum = 0n;
    for (const s of m.sources['events'] ?? [])
      for (const o of Object.values((s.position as { offsets: Record<string, string> }).offsets)) sum += BigInt(o);
    return Number(sum);
  }

  /** The state each slot process's run ended in (a failed run may reject). */
  const ended = (runs: Promise<unknown>[]): Promise<string[]> =>
    Promise.all(
      runs.map((r) =>
        r.then(
          (x) => (x as { state: string }).state,
          () => 'FAILED',
        ),
      ),
    );

  // The job then restarts from its last completed checkpoint, at the plan's target parallelism and at the old one.
  it.each([2, P])(
    'a mig-done lost fails the step after the step timeout, naming the slot; restart at %i',
    async (to) => {
      const input = `it-xproc-lost-in-${run}-${to}`;
      const output = `it-xproc-lost-out-${run}-${to}`;
      await createTopics(kafka, { [input]: PARTITIONS, [output]: 3 });
      await writeInput(kafka, input, () => undefined, Promise.resolve());
      // Short, so the deadline comes soon; long enough that a loaded machine's checkpoints complete within it.
      const timeoutMs = 8000;
      const { slots, runs, stateDir } = await start(graph(input, output), timeoutMs);
      const job = slots[0]?.executor as JobExecutor;
      // Every record read (a checkpoint's offsets sum to the input): every slot owns its partitions, and the
      // step's barrier aligns at once, well within the short checkpoint timeout.
      await expect.poll(() => readAll(job), { timeout: 90_000, interval: 200 }).toBe(RECORDS);
      // The one fault the real data plane cannot produce on demand: slot 1's first report is dropped.
      const plane = (slots[1] as SlotProcess).dataPlane;
      const send = plane.sendControl.bind(plane);
      let dropped = 0;
      plane.sendControl = (slot, msg) => {
        if ((msg as { m?: string }).m === 'mig-done' && dropped++ === 0) return true;
        return send(slot, msg);
      };
      const t0 = Date.now();
      const migrating = job.migrate(plan(input, P, 2));
      await expect(migrating).rejects.toMatchObject({
        code: 'TRIB_RESCALE_STEP_FAILED',
        message: expect.stringMatching(
          new RegExp(
            `was not done within ${timeoutMs} ms: slot 1 did not report \\(mig-done: key groups [0-9, –]+ installed`,
          ),
        ) as unknown,
      });
      expect(dropped).toBe(1);
      // Failed by the deadline (one checkpoint timeout past the step's checkpoint), not by the test's own timeout.
      expect(Date.now() - t0).toBeLessThan(6 * timeoutMs);
      // The job fails as with any failed step: slot 0's process, and its peers when their links to it fail.
      expect(await ended(runs)).toEqual(['FAILED', 'FAILED', 'FAILED']);

      // Restarted from the last completed checkpoint (the step's or a later one: key groups part moved).
      const last = (await latestCheckpointPath(stateDir)) as string;
      expect(last).toBeDefined();
      const again = await start(graph(input, output), 30_000, { parallelism: to, restoreFrom: last });
      await exactlyOnce(again.slots[0]?.executor as JobExecutor, again.runs, output);
    },
    240_000,
  );

  it('a plan touching a slot whose source finished (end of input) is refused before anything moves', async () => {
    // Two partitions at parallelism 3, discovery off: one slot owns none and its source ends; its keyed task runs on.
    let input = '';
    for (let i = 0; input === '' || !idleAt(input, [1, 2]) || idleAt(input, [0]); i++)
      input = `it-xproc-idle-in-${run}-${i}`;
    const idle = [...Array(P).keys()].find((s) => ![0, 1].some((q) => partitionOwner(input, q, P) === s)) as number;
    const output = `${input}-out`;
    await createTopics(kafka, { [input]: 2, [output]: 3 });
    const { slots, runs } = await start(graph(input, output, '0'), 30_000);
    const job = slots[0]?.executor as JobExecutor;
    // The idle slot's source task ended (read through the executor's slots: no status field says it).
    const idleSlots = (slots[idle]?.executor as unknown as { slots: { sources: { done: boolean }[] }[] }).slots;
    await expect.poll(() => idleSlots.every((p) => p.sources.every((t) => t.done)), { timeout: 30_000 }).toBe(true);
    // The other slots read their partitions (a checkpoint lists both): a plan moves only partitions a slot owns.
    await expect
      .poll(async () => (await owned((await job.triggerCheckpoint()).path)).flat().length, { timeout: 60_000 })
      .toBe(2);
    const down = planMigration({
      maxParallelism: MAXP,
      from: P,
      to: 2,
      keyGroupBytes: new Array<number>(MAXP).fill(100),
      partitions: [0, 1].map((partition) => ({
        source: 'events',
        topic: input,
        partition,
        owner: partitionOwner(input, partition, P),
      })),
      budget: { bytes: 2400 },
    });
    const owners = job.migration?.owners();
    await expect(job.migrate(down)).rejects.toMatchObject({
      code: 'TRIB_RESCALE_UNSUPPORTED',
      message: expect.stringContaining(`slot ${idle}: its source task "events" finished (end of input)`) as unknown,
    });
    expect(job.migration?.owners(), 'nothing moved').toEqual(owners);
    expect(slots.map((s) => s.jobState)).toEqual(['RUNNING', 'RUNNING', 'RUNNING']);
    await (
      await job.triggerCheckpoint()
    ).path; // the job runs on and checkpoints
    await job.triggerSavepoint({ stop: true });
    expect(await ended(runs)).toEqual(['STOPPED', 'STOPPED', 'STOPPED']);
  }, 120_000);
  it('a migration asked at once after the start waits for every slot to read its partitions', async () => {
    const input = `it-xproc-early-in-${run}`;
    const output = `it-xproc-early-out-${run}`;
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 3 });
    await writeInput(kafka, input, () => undefined, Promise.resolve());
    const { slots, runs } = await start(graph(input, output), 30_000);
    const job = slots[0]?.executor as JobExecutor;
    // At once: the slots' Kafka sources may still be opening (RUNNING is before their first assignment).
    await job.migrate(plan(input, P, 2));
    expect(await owned((await job.triggerCheckpoint()).path)).toEqual(formula(input, 2));
    // A move from a slot that does not read the partition is refused by that slot, naming both.
    const at2 = formula(input, 2);
    const [q, wrongFrom] = (at2[0]?.length ?? 0) > 0 ? [at2[0]?.[0] as number, 1] : [at2[1]?.[0] as number, 0];
    const back = plan(input, 2, P);
    const step = { ...(back.steps[0] as MigrationPlan['steps'][number]) };
    step.partitions = [{ source: 'events', topic: input, partition: q, from: wrongFrom, to: 2 }];
    const owners = job.migration?.owners();
    await expect(job.migrate({ ...back, steps: [step] })).rejects.toMatchObject({
      code: 'TRIB_RESCALE_PLAN_INVALID',
      message: expect.stringContaining(
        `slot ${wrongFrom}: the plan moves partition ${q} of source "events" from slot ${wrongFrom}, which does not read it`,
      ) as unknown,
    });
    expect(job.migration?.owners(), 'nothing moved').toEqual(owners);
    expect(slots.map((s) => s.jobState)).toEqual(['RUNNING', 'RUNNING', 'RUNNING']);
    await exactlyOnce(job, runs, output);
  }, 180_000);
});
