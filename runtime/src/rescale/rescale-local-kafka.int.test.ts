// A real change of parallelism of a running job in one JobExecutor (JobExecutor.rescale:
// rescale-local.ts, join-local.ts, leave-local.ts), against the real broker: a job at parallelism 2
// reads a 6-partition topic that a producer keeps writing → keyBy → a rolling count (and the
// highest id) per key → an exactly-once Kafka sink, checkpointing every 100 ms. Mid-stream slot 2
// joins (rescale(3)), and leaves again (rescale(2)). Kafka's Java read_committed consumer must
// read exactly the reference computed from the input written: every key's counts 1..n with the id
// of its n-th record — a record lost, emitted twice or counted by two slots shows as missing,
// duplicated or unexpected. Every checkpoint lists each partition once; a crash after the scale
// out and a restart from the last checkpoint at 3 continue exactly-once; 3 → 1 → 2 brings slot 1
// back below the starting parallelism (its source must take only what a step gives it); a crash
// while a slot joins ends the rescale instead of leaving it waiting for loops that stopped.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { latestCheckpointPath } from '../checkpoint/coordinator.ts';
import { readMetadata } from '../checkpoint/metadata.ts';
import { kafkaTestRun } from '../testing/kafka-test-run.ts';
import { createTopics } from '../testing/kafka-topics.ts';
import { liveKafkaJob, PARTITIONS } from '../testing/live-kafka-job.ts';

const SLOTS = 3;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('live rescale: slots join and leave a running job (real Kafka)', () => {
  const { run, bs, kafka } = kafkaTestRun('tributary-live-rescale-it');
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const {
    writing,

    committedOutput,
    start,
    positions,
    formula,
    owned,
    eachPartitionOnce,
    readToEnd,
    expectExactly,
  } = liveKafkaJob({ bs, kafka, prefix: 'it-resc', slots: SLOTS });

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
