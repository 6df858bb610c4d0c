// Scale in across slot processes (process/rescale-leave.ts, rescale/leave-across-coordinator.ts,
// rescale/leave-across.ts), against the real broker: three SlotProcess instances in this test process,
// linked by real DataPlanes on loopback, run a job at parallelism 3 (runtime/src/testing/live-kafka-job.ts: a
// 6-partition topic a producer keeps writing → keyBy → a rolling count per key → an exactly-once Kafka sink,
// checkpointing every 100 ms). Slot 0's `scaleIn(plan 3 → 2)` moves slot 2's key groups and partitions to slots
// 0 and 1, then slot 2 drains, takes its final snapshot, commits, leaves the checkpoints and its process's run
// resolves FINISHED; its links close with BYE and the other two run on. Kafka's Java read_committed consumer
// must read exactly the reference.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { latestCheckpointPath } from '../checkpoint/checkpoint-storage.ts';
import { readMetadata } from '../checkpoint/metadata.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { JobExecutor } from '../job/job-executor.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { createLogger, silentLogger } from '../telemetry/logger.ts';
import { kafkaTestRun } from '../testing/kafka-test-run.ts';
import { createTopics } from '../testing/kafka-topics.ts';
import { formulaPlan as plan, liveKafkaJob, MAXP, PARTITIONS } from '../testing/live-kafka-job.ts';
import { SlotProcess } from './slot-process.ts';

const P = 3;

describe('scale in across slot processes (data plane, real Kafka)', () => {
  const { run, bs, kafka } = kafkaTestRun('tributary-xdrain-it');
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const j = liveKafkaJob({ bs, kafka, prefix: 'it-xdrain', slots: P });
  const { graph, functions, writing, committedOutput, positions, formula, owned, readToEnd, expectExactly } = j;

  /** Slot processes of `spec` on loopback, running. */
  async function start(
    spec: GraphSpec,
    o: { parallelism?: number; restoreFrom?: string; stateDir?: string; timeoutMs?: number } = {},
  ): Promise<{ slots: SlotProcess[]; runs: Promise<unknown>[]; stateDir: string }> {
    const parallelism = o.parallelism ?? P;
    const stateDir = o.stateDir ?? (await mkdtemp(join(tmpdir(), 'trib-xdrain-')));
    dirs.push(stateDir);
    let release!: (addresses: string[]) => void;
    const known = new Promise<string[]>((r) => (release = r));
    const slots = [...Array(parallelism).keys()].map(
      (slot) =>
        new SlotProcess({
          jobName: 'xdrain-it',
          graph: validateGraph(spec),
          slot,
          parallelism,
          maxParallelism: MAXP,
          deploymentId: `dep-${run}-${stateDir}-${parallelism}`,
          secret: 'secret-of-the-xdrain-test',
          host: '127.0.0.1',
          dataPort: 0,
          discover: () => known,
          logger: process.env['LIVE_DIAG'] ? createLogger('warn') : silentLogger(),
          checkpointing: { stateDir, intervalMs: 100, timeoutMs: o.timeoutMs ?? 30_000, retained: 10_000 },
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

  /** The state each slot process's run ended in (a failed run rejects). */
  const ended = (runs: Promise<unknown>[]): Promise<string[]> =>
    Promise.all(
      runs.map((r) =>
        r.then(
          (x) => (x as { state: string }).state,
          () => 'FAILED',
        ),
      ),
    );

  /** Starts at 3 with input arriving, scales in to 2; returns what the checks need. */
  async function scaleInWhileReading(input: string, output: string) {
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 3 });
    const input$ = writing(input);
    await input$.backlog;
    const { slots, runs, stateDir } = await start(graph(input, output));
    const job = slots[0]?.executor as JobExecutor;
    const recordsIn = (): number => slots.reduce((n, s) => n + (s.executor?.status().recordsIn ?? 0), 0);
    await expect.poll(recordsIn, { timeout: 60_000, interval: 20 }).toBeGreaterThan(1500);
    // The links slot 2 had with the others, to see how they end.
    const links = [0, 1].flatMap((s) => {
      const plane = (slots[s] as SlotProcess).dataPlane;
      return [plane.outbound.get(2), plane.inbound.get(2)];
    });
    expect(links.every((l) => l !== undefined)).toBe(true);
    const series = async (s: number): Promise<boolean> =>
      /(to|from)_slot="2"/.test(await (slots[s] as SlotProcess).metrics.registry.metrics());
    expect(await series(0)).toBe(true);
    const gateInputs = (s: number): number[] =>
      (slots[s]?.executor as JobExecutor).drainContext.links.consumers.map((c) => c.gate.inputCount);
    expect(gateInputs(1)).toEqual([3]);

    const finalId = await (slots[0] as SlotProcess).scaleIn(plan(input, P, 2));
    expect(input$.done, 'drained while the input is still written').toBe(false);
    // Slot 2's process finished: final checkpoint committed, sinks closed 'finished'.
    expect(await ended([runs[2] as Promise<unknown>])).toEqual(['FINISHED']);
    expect((slots[2] as SlotProcess).jobState).toBe('FINISHED');
    // Its links were retired with BYE, and the remaining planes forgot it without failing.
    for (const l of links)
      expect({ retired: l?.retired, failure: l?.failure }).toEqual({ retired: true, failure: undefined });
    for (const s of [0, 1]) {
      const plane = (slots[s] as SlotProcess).dataPlane;
      expect({ out: plane.outbound.has(2), in: plane.inbound.has(2), failure: plane.failure }).toEqual({
        out: false,
        in: false,
        failure: undefined,
      });
      expect((slots[s] as SlotProcess).jobState).toBe('RUNNING');
      // Its ended inputs are gone from the remaining gates, its network series from their metrics.
      await expect.poll(() => gateInputs(s)).toEqual([2]);
      expect(await series(s)).toBe(false);
    }
    expect(job.coordinator?.membership.size).toBe(2);
    expect((slots[0] as SlotProcess).status().parallelism).toBe(2);
    // Later checkpoints complete with 2 members, and list the partitions as parallelism 2 places them.
    const after = await job.triggerCheckpoint();
    expect(after.id).toBeGreaterThan(finalId);
    expect((await readMetadata(after.path)).parallelism).toBe(2);
    expect(owned(await positions(after.path)).slice(0, 2)).toEqual(formula(input, 2).slice(0, 2));
    return { slots, runs, stateDir, job, input$ };
  }

  it('3 → 2: slot 2 drains, commits, leaves and finishes; read_committed output equals the reference', async () => {
    const input = `it-xdrain-in-${run}`;
    const output = `it-xdrain-out-${run}`;
    const { runs, job, input$ } = await scaleInWhileReading(input, output);
    input$.tail();
    await input$.all;
    // Input written after the drain is read by the two slots left: checkpoints until one records it all.
    await readToEnd(job);
    await job.triggerSavepoint({ stop: true });
    expect(await ended(runs.slice(0, 2))).toEqual(['STOPPED', 'STOPPED']);
    expectExactly(await committedOutput(output));
  }, 240_000);

  it('3 → 2 → 1: a second scale in drains slot 1 too; slot 0 alone reads on exactly-once', async () => {
    const input = `it-xdrain-twice-in-${run}`;
    const output = `it-xdrain-twice-out-${run}`;
    const { slots, runs, job, input$ } = await scaleInWhileReading(input, output);
    await (slots[0] as SlotProcess).scaleIn(plan(input, 2, 1));
    expect(await ended([runs[1] as Promise<unknown>])).toEqual(['FINISHED']);
    expect(job.coordinator?.membership.size).toBe(1);
    expect((slots[0] as SlotProcess).dataPlane.failure).toBeUndefined();
    input$.tail();
    await input$.all;
    await readToEnd(job);
    expect((await readMetadata((await job.triggerCheckpoint()).path)).parallelism).toBe(1);
    await job.triggerSavepoint({ stop: true });
    expect(await ended(runs.slice(0, 1))).toEqual(['STOPPED']);
    expectExactly(await committedOutput(output));
  }, 240_000);

  it('a restart at 2 from a checkpoint taken after the drain reads on exactly-once', async () => {
    const input = `it-xdrain-restart-in-${run}`;
    const output = `it-xdrain-restart-out-${run}`;
    const { slots, runs, stateDir, job, input$ } = await scaleInWhileReading(input, output);
    const taken = await job.triggerCheckpoint();
    // A crash of both remaining slots: transactions stay open, as after SIGKILL.
    for (const s of slots.slice(0, 2)) s.executor?.crash();
    expect(await ended(runs.slice(0, 2))).toEqual(['FAILED', 'FAILED']);
    const last = (await latestCheckpointPath(stateDir)) as string;
    expect((await readMetadata(last)).checkpointId).toBeGreaterThanOrEqual(taken.id);
    const again = await start(graph(input, output), { parallelism: 2, restoreFrom: last });
    input$.tail();
    await input$.all;
    const job2 = again.slots[0]?.executor as JobExecutor;
    await readToEnd(job2);
    await job2.triggerSavepoint({ stop: true });
    expect(await ended(again.runs)).toEqual(['STOPPED', 'STOPPED']);
    expectExactly(await committedOutput(output));
  }, 240_000);

  it('a draining slot whose report never comes fails the rescale by the deadline naming it; a restart at 2 reads on', async () => {
    const input = `it-xdrain-lost-in-${run}`;
    const output = `it-xdrain-lost-out-${run}`;
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 3 });
    const input$ = writing(input);
    input$.tail();
    await input$.all;
    const timeoutMs = 8000;
    const { slots, runs, stateDir } = await start(graph(input, output), { timeoutMs });
    const job = slots[0]?.executor as JobExecutor;
    await readToEnd(job);
    // Slot 2 drains, but its report that every task ended is lost (the link stays up).
    const plane = (slots[2] as SlotProcess).dataPlane;
    const send = plane.sendControl.bind(plane);
    let dropped = 0;
    plane.sendControl = (slot, msg) => {
      if ((msg as { m?: string }).m === 'mig-drained' && ++dropped > 0) return true;
      return send(slot, msg);
    };
    const t0 = Date.now();
    await expect((slots[0] as SlotProcess).scaleIn(plan(input, P, 2))).rejects.toMatchObject({
      code: 'TRIB_RESCALE_STEP_FAILED',
      message: `live rescale: draining was not done within ${timeoutMs} ms: slot 2 did not finish (its tasks did not all end)`,
    });
    expect(dropped).toBe(1);
    expect(Date.now() - t0).toBeLessThan(6 * timeoutMs);
    // The job fails as after a failed step: slot 0's process, and its peers when their links to it fail.
    expect(await ended(runs)).toEqual(['FAILED', 'FAILED', 'FAILED']);
    // Slot 2, its tasks ended, polls no channel: it fails by watching its links, not waiting for ever.
    await expect(runs[2]).rejects.toThrow('slot 2 is draining: its link with slot 0 closed before it left');
    const last = (await latestCheckpointPath(stateDir)) as string;
    const again = await start(graph(input, output), { parallelism: 2, restoreFrom: last });
    const job2 = again.slots[0]?.executor as JobExecutor;
    await readToEnd(job2);
    await job2.triggerSavepoint({ stop: true });
    expect(await ended(again.runs)).toEqual(['STOPPED', 'STOPPED']);
    expectExactly(await committedOutput(output));
  }, 240_000);
});
