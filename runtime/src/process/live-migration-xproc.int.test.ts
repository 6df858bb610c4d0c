// Live migration across slot processes (rescale/migration.ts with a MigrationTransport), against
// the real broker: three SlotProcess instances in this test process, linked by real DataPlanes on
// loopback, run a job at parallelism 3: a 6-partition topic a producer keeps writing → keyBy → a
// rolling count (and the highest id) per key → an exactly-once Kafka sink, checkpointing every
// 100 ms. Slot 0's process migrates mid-stream to 2 slots' assignment (slot 2's key groups and
// partitions move to slots 0 and 1, in other processes) and back to 3: the steps ride on triggers
// that carry them, hand-offs and positions cross the data plane. Kafka's Java read_committed
// consumer must read exactly the reference computed from the input written (0 missing, 0 duplicated).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { latestCheckpointPath } from '../checkpoint/checkpoint-storage.ts';
import { partitionOwner } from '../connectors/kafka/partition-owner.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { type MigrationPlan } from '../rescale/plan.ts';
import { createLogger, silentLogger } from '../telemetry/logger.ts';
import { kafkaTestRun } from '../testing/kafka-test-run.ts';
import { createTopics } from '../testing/kafka-topics.ts';
import { formulaPlan as plan, liveKafkaJob, MAXP, PARTITIONS } from '../testing/live-kafka-job.ts';
import type { JobExecutor } from '../job/job-executor.ts';
import { SlotProcess } from './slot-process.ts';

const P = 3;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('live migration between slot processes (data plane, real Kafka)', () => {
  const { run, bs, kafka } = kafkaTestRun('tributary-xproc-it');
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const j = liveKafkaJob({ bs, kafka, prefix: 'it-xproc', slots: P });
  const { graph, functions, writing, committedOutput, positions, formula, owned, readToEnd, expectExactly } = j;
  /** Slot → its partitions in the checkpoint at `path`. */
  const ownedAt = async (path: string): Promise<number[][]> => owned(await positions(path));
  /** The whole input written at once, before the job starts. */
  const allWritten = async (topic: string): Promise<void> => {
    const w = writing(topic);
    w.tail();
    await w.all;
  };

  /** Some slot of `slots` owns none of partitions 0 and 1 of `topic` at parallelism P. */
  const idleAt = (topic: string, slots: number[]): boolean =>
    slots.some((s) => ![0, 1].some((q) => partitionOwner(topic, q, P) === s));

  it('3 → 2 → 3 with key groups and partitions crossing processes: read_committed output equals the reference', async () => {
    const input = `it-xproc-in-${run}`;
    const output = `it-xproc-out-${run}`;
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 3 });
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-xproc-'));
    dirs.push(stateDir);
    const input$ = writing(input);
    await input$.backlog;

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
    expect(await ownedAt((await job.triggerCheckpoint()).path)).toEqual(formula(input, 2));
    await sleep(300);
    await job.migrate(plan(input, 2, P));
    expect(input$.done, 'migrated back while the input is still written').toBe(false);
    input$.tail();
    expect(await ownedAt((await job.triggerCheckpoint()).path)).toEqual(formula(input, P));
    await input$.all;
    // Checkpoints until one records every input record read.
    await readToEnd(job);
    await job.triggerSavepoint({ stop: true });
    for (const r of runs) expect((await r).state).toBe('STOPPED');
    expectExactly(await committedOutput(output));
    // Every checkpoint lists every partition once over all slots (the steps' own among them).
    expect(await j.eachPartitionOnce(stateDir)).toBeGreaterThan(10);
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
    await readToEnd(job);
    await job.triggerSavepoint({ stop: true });
    expect(await ended(runs)).toEqual(runs.map(() => 'STOPPED'));
    expectExactly(await committedOutput(output));
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
      await allWritten(input);
      // Short, so the deadline comes soon; long enough that a loaded machine's checkpoints complete within it.
      const timeoutMs = 8000;
      const { slots, runs, stateDir } = await start(graph(input, output), timeoutMs);
      const job = slots[0]?.executor as JobExecutor;
      // Every record read (a checkpoint's offsets sum to the input): every slot owns its partitions, and the
      // step's barrier aligns at once, well within the short checkpoint timeout.
      await readToEnd(job);
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
      .poll(async () => (await ownedAt((await job.triggerCheckpoint()).path)).flat().length, { timeout: 60_000 })
      .toBe(2);
    const down = plan(input, P, 2, [0, 1]);
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
    await allWritten(input);
    const { slots, runs } = await start(graph(input, output), 30_000);
    const job = slots[0]?.executor as JobExecutor;
    // At once: the slots' Kafka sources may still be opening (RUNNING is before their first assignment).
    await job.migrate(plan(input, P, 2));
    expect(await ownedAt((await job.triggerCheckpoint()).path)).toEqual(formula(input, 2));
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
