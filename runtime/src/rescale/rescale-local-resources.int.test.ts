// What a job leaves open after live rescales and a stop, against the real broker: a job at
// parallelism 2 (exactly-once Kafka in and out, testing/live-kafka-job.ts) is rescaled
// 2 → 3 → 1 → 2 → 3 → 2 → 3 → 1 while input arrives, then stopped as Ctrl-C stops it. Every socket
// and timer it created must be gone soon after: one left open holds a one-thread `tributary run`'s
// event loop, so the process never exits by itself. The failure lists each one left with the stack
// that created it (testing/live-resources.ts).
//
// Found so: a source slot's kafkajs consumer stopped (a partition handed over, a slot drained) while
// its run was still joining the group crashed on the connection stop() closed, and kafkajs restarted
// it on its own timer after stop() had returned — a consumer no one stops, fetching for ever
// (ConsumerLoop's restartOnFailure now refuses a stopped loop's restart).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { kafkaTestRun } from '../testing/kafka-test-run.ts';
import { createTopics } from '../testing/kafka-topics.ts';
import { liveKafkaJob, PARTITIONS } from '../testing/live-kafka-job.ts';
import { LiveResources } from '../testing/live-resources.ts';
import { GateTask } from '../exec/gate-task.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('live rescale: nothing the job opened outlives its stop (real Kafka)', () => {
  const { run, bs, kafka } = kafkaTestRun('tributary-live-rescale-resources-it');
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const { writing, start } = liveKafkaJob({ bs, kafka, prefix: 'it-resc-res', slots: 3 });

  it('rescaled 2 → 3 → 1 → 2 → 3 → 2 → 3 → 1, then stopped: no socket or timer it created is left', async () => {
    const input = `it-resc-res-in-${run}`;
    const output = `it-resc-res-out-${run}`;
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 3 });
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-rescale-res-'));
    dirs.push(stateDir);
    const written = writing(input);
    await written.backlog;
    const resources = new LiveResources();
    resources.start();
    try {
      const a = await start(input, output, 2, stateDir);
      await expect.poll(() => a.job.status().recordsIn, { timeout: 60_000, interval: 20 }).toBeGreaterThan(1500);
      // Rescales in quick succession: consumers replaced while the group still rebalances from the last.
      for (const to of [3, 1, 2, 3, 2, 3, 1]) {
        expect(await a.job.rescale(to, { budgetBytes: 2400 })).toMatchObject({ to, phase: 'done' });
        await sleep(100 + Math.random() * 300);
      }
      a.job.stop();
      expect(((await a.done) as { state: string }).state).toBe('STOPPED');
      resources.stopRecording();
      written.tail();
      await written.all; // the test's own producer disconnected: what remains is the job's
      // A socket's close and a timer's clear are seen a little after the stop: a bounded settle.
      await expect
        .poll(() => resources.alive().length, { timeout: 10_000, interval: 200 })
        .toBe(0)
        .catch(() => {
          throw new Error(`left open after the job stopped:\n${resources.describe()}`);
        });
    } finally {
      resources.dispose();
    }
  }, 240_000);

  it("2 → 3 → 2 → 3 → 2: a drained slot's metric series leave /metrics; the cycle leaves the same as before", async () => {
    const input = `it-resc-met-in-${run}`;
    const output = `it-resc-met-out-${run}`;
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 3 });
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-rescale-res-'));
    dirs.push(stateDir);
    const written = writing(input);
    await written.backlog;
    const a = await start(input, output, 2, stateDir);
    // What the running slots' gates read after each drain (GateTask.removeInput, from leave-local.ts).
    const inputsAfter = new Map<GateTask, number>();
    const remove = GateTask.prototype.removeInput;
    const spy = vi.spyOn(GateTask.prototype, 'removeInput').mockImplementation(function (this: GateTask, ch) {
      remove.call(this, ch);
      inputsAfter.set(this, this.inputCount);
    });
    /** The label sets of every series naming a slot, as /metrics shows them. */
    const slotSeries = async (): Promise<string[]> =>
      (await a.job.metrics.registry.metrics())
        .split('\n')
        .filter((l) => !l.startsWith('#') && l.includes('slot="'))
        .map((l) => l.slice(0, l.lastIndexOf(' ')))
        .sort();
    await expect.poll(() => a.job.status().recordsIn, { timeout: 60_000, interval: 20 }).toBeGreaterThan(1500);
    await a.job.triggerCheckpoint();
    const before = await slotSeries();
    expect(before.some((l) => l.includes('slot="1"'))).toBe(true);
    // A series appears with its slot's first event (a sink's first commit): the first cycle shows them all.
    const after: string[][] = [];
    for (const to of [3, 2, 3, 2]) {
      await a.job.rescale(to, { budgetBytes: 2400 });
      await a.job.triggerCheckpoint();
      const now = await slotSeries();
      expect(
        now.some((l) => l.includes('slot="2"')),
        `at ${to}: ${now.join('\n')}`,
      ).toBe(to === 3);
      if (to === 2) after.push(now);
    }
    const [once, twice] = after as [string[], string[]];
    expect(once).toEqual(expect.arrayContaining(before));
    expect(twice, 'the second cycle leaves what the first left').toEqual(once);
    spy.mockRestore();
    // Each running slot's keyed step read 3 inputs at 3 and reads its 2 again: the drained slot's ended one went.
    expect(inputsAfter.size).toBe(2);
    expect([...inputsAfter.values()]).toEqual([2, 2]);
    a.job.stop();
    await a.done;
    written.tail();
    await written.all;
  }, 240_000);
});
