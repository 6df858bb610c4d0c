// Live rescale with Kafka source partitions moving between running slots (migration.ts,
// kafka/partition-handover.ts; docs/design/live-rescale.md), against the real
// broker: a job at parallelism 3 reads a 6-partition topic that a producer keeps writing → keyBy
// → a rolling count (and the highest id) per key → an exactly-once Kafka sink, checkpointing every
// 100 ms. Mid-stream it migrates to 2 slots' assignment (slot 2's partitions and key groups move
// to slots 0 and 1) and back to 3. Kafka's Java read_committed consumer must read exactly the
// reference computed from the input written: every key's counts 1..n with the id of its n-th
// record (keys stay on one partition, so their order is the partition's) — a record lost, emitted
// twice or counted by two slots shows as missing, duplicated or unexpected.
//
// A checkpoint after the 3 → 2 migration lists slot 2's source with no partition and the others'
// as a restart at 2 would own them; a crash then and a restart from it at parallelism 2 continue
// exactly-once.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { latestCheckpointPath } from '../checkpoint/coordinator.ts';
import { kafkaTestRun } from '../testing/kafka-test-run.ts';
import { createTopics } from '../testing/kafka-topics.ts';
import { withEnv } from '../testing/env.ts';
import { FETCH_THREAD_ENV } from '../connectors/kafka/fetch-thread.ts';
import { formulaPlan as plan, liveKafkaJob, PARTITIONS } from '../testing/live-kafka-job.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('live rescale moving Kafka partitions between running slots (real Kafka)', () => {
  const { run, bs, kafka } = kafkaTestRun('tributary-live-kafka-it');
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
  } = liveKafkaJob({ bs, kafka, prefix: 'it-live', slots: 3 });

  it.each([
    ['on', 'off', '500ms'],
    ['off', 'off', '0'],
    ['on', 'on', '500ms'],
  ])(
    '3 → 2 → 3 while input arrives, discovery %s, fetch thread %s: read_committed output equals the reference',
    (tag, fetchThread, discovery) =>
      withEnv(FETCH_THREAD_ENV, fetchThread, () => migrateAndBack(tag, discovery, fetchThread)),
    180_000,
  );

  async function migrateAndBack(tag: string, discovery: string, fetchThread: string): Promise<void> {
    const input = `it-live-${tag}-${fetchThread}-in-${run}`;
    const output = `it-live-${tag}-${fetchThread}-out-${run}`;
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 3 });
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-live-kafka-'));
    dirs.push(stateDir);
    const written = writing(input);
    await written.backlog;
    const a = await start(input, output, 3, stateDir, undefined, discovery);
    await expect.poll(() => a.job.status().recordsIn, { timeout: 60_000, interval: 20 }).toBeGreaterThan(1500);
    const down = plan(input, 3, 2);
    expect(down.movedPartitions).toBeGreaterThan(0);
    await a.job.migrate(down);
    const after = await a.job.triggerCheckpoint();
    // Slot 2 reads nothing any more; slots 0 and 1 what a restart at 2 would give them.
    expect(owned(await positions(after.path))).toEqual(formula(input, 2));
    expect(formula(input, 2)[2]).toEqual([]);
    await sleep(300); // discovery runs meanwhile
    await a.job.migrate(plan(input, 2, 3));
    expect(written.done, 'migrated back while the input is still written').toBe(false);
    written.tail();
    expect(owned(await positions((await a.job.triggerCheckpoint()).path))).toEqual(formula(input, 3));
    await written.all;
    await readToEnd(a.job);
    await a.job.triggerSavepoint({ stop: true });
    expect(((await a.done) as { state: string }).state).toBe('STOPPED');
    expectExactly(await committedOutput(output));
    expect(await eachPartitionOnce(stateDir)).toBeGreaterThan(10);
  }

  it('after 3 → 2 slot 2 checkpoints no partition; restarted from it at 2: exactly-once', async () => {
    const input = `it-live-crash-in-${run}`;
    const output = `it-live-crash-out-${run}`;
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 3 });
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-live-kafka-'));
    dirs.push(stateDir);
    const written = writing(input);
    await written.backlog;
    const a = await start(input, output, 3, stateDir);
    await expect.poll(() => a.job.status().recordsIn, { timeout: 60_000, interval: 20 }).toBeGreaterThan(1500);
    await a.job.migrate(plan(input, 3, 2));
    await a.job.triggerCheckpoint();
    await sleep(300);
    a.job.crash();
    await expect(a.done).rejects.toMatchObject({ code: 'TRIB_JOB_FAILED' });
    const latest = (await latestCheckpointPath(stateDir)) as string;
    const pos = await positions(latest);
    expect(pos.get(2)).toEqual({}); // slot 2's source, with no partition
    expect(owned(pos)).toEqual(formula(input, 2));
    const b = await start(input, output, 2, stateDir, latest);
    written.tail();
    await written.all;
    await readToEnd(b.job);
    await b.job.triggerSavepoint({ stop: true });
    expect(((await b.done) as { state: string }).state).toBe('STOPPED');
    expectExactly(await committedOutput(output));
  }, 180_000);
});
