// A slot process joins a running job and receives work (live rescale, scale out across processes:
// rescale/join-across.ts, rescale/rescale-across.ts), against the real broker: two SlotProcess instances in
// this test process, linked by real DataPlanes on loopback, run the live Kafka job
// (testing/live-kafka-job.ts: a 6-partition topic a producer keeps writing → keyBy → a rolling count
// → an exactly-once Kafka sink, checkpointing every 100 ms). A third process links (generation 1,
// parallelism 3) and runs while input arrives:
// - the pieces: slot 0 joins it (built from slot 0's owner table, wired in, admitted): later
//   checkpoints complete with 3 members, slot 2 owning nothing; then migrate with the plan 2 → 3:
//   a checkpoint after it lists slot 2's key groups and partitions at slot 2;
// - the entry: JobExecutor.rescale(3) on slot 0 does join → plan → migrate;
// both read exactly the reference with Kafka's Java read_committed consumer (0 missing, 0 duplicated);
// - a join-wired dropped on a link that stays up fails the join by its deadline naming the slot.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readMetadata } from '../checkpoint/metadata.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import type { JobExecutor } from '../job/job-executor.ts';
import { slotForKeyGroup } from '../state/key-groups.ts';
import { createLogger, silentLogger } from '../telemetry/logger.ts';
import { kafkaTestRun } from '../testing/kafka-test-run.ts';
import { createTopics } from '../testing/kafka-topics.ts';
import { formulaPlan as plan, liveKafkaJob, MAXP, PARTITIONS } from '../testing/live-kafka-job.ts';
import { SlotProcess, type SlotProcessOptions } from './slot-process.ts';

const P = 2;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('a slot process joins a running job: its slot, its wiring, its work (data plane, real Kafka)', () => {
  const { run, bs, kafka } = kafkaTestRun('tributary-xjoinrun-it');
  const dirs: string[] = [];
  /** Runs still going when a test failed: stopped before their state dirs are removed. */
  const live: [SlotProcess, Promise<unknown>][] = [];
  afterAll(async () => {
    for (const [s] of live) s.stop();
    // A joiner left unwired by a failed test never ends by itself (its inputs carry no end of input): cut the links.
    const ended = Promise.allSettled(live.map(([, r]) => r));
    if ((await Promise.race([ended.then(() => true), sleep(15_000).then(() => false)])) === false)
      await Promise.allSettled(live.map(([s]) => s.dataPlane.destroy()));
    await Promise.race([ended, sleep(15_000)]);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }, 60_000);
  const j = liveKafkaJob({ bs, kafka, prefix: 'it-xjoinrun', slots: 3 });
  const { graph, functions, writing, committedOutput, positions, formula, owned, readToEnd, expectExactly } = j;

  /** Slot → the key groups its keyed state files hold in the checkpoint at `path` (step "running"). */
  async function keyGroupsAt(path: string): Promise<Map<number, number[]>> {
    const m = await readMetadata(path);
    const out = new Map<number, number[]>();
    for (const f of m.operators['running']?.keyed ?? []) {
      const kgs = (f.keyGroups ?? [[f.keyGroupRange.start, f.keyGroupRange.end]]).flatMap(([a, b]) =>
        Array.from({ length: b - a + 1 }, (_, i) => a + i),
      );
      out.set(f.slot, [...(out.get(f.slot) ?? []), ...kgs]);
    }
    return out;
  }

  /** Two slot processes of the job on loopback, running and reading; slot 0's executor drives. */
  async function start(input: string, output: string, timeoutMs = 30_000) {
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 3 });
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-xjoinrun-'));
    dirs.push(stateDir);
    const input$ = writing(input);
    await input$.backlog;
    const logger = process.env['LIVE_DIAG'] ? createLogger('warn') : silentLogger();
    let release!: (addresses: string[]) => void;
    const known = new Promise<string[]>((r) => (release = r));
    const base = (slot: number, parallelism: number): SlotProcessOptions => ({
      jobName: 'xjoinrun-it',
      graph: validateGraph(graph(input, output)),
      slot,
      parallelism,
      maxParallelism: MAXP,
      deploymentId: `dep-${run}-${input}`,
      secret: 'secret-of-the-xjoinrun-test',
      host: '127.0.0.1',
      dataPort: 0,
      discover: () => known,
      logger,
      checkpointing: { stateDir, intervalMs: 100, timeoutMs, retained: 10_000 },
      job: { batchSize: 64, functions },
    });
    const slots = [...Array(P).keys()].map((slot) => new SlotProcess(base(slot, P)));
    for (const s of slots) await s.listen();
    const runs: Promise<unknown>[] = slots.map((s) => s.run());
    for (const r of runs) r.catch(() => undefined);
    slots.forEach((s, i) => live.push([s, runs[i] as Promise<unknown>]));
    release(slots.map((s) => s.address));
    await expect.poll(() => slots.every((s) => s.jobState === 'RUNNING'), { timeout: 60_000 }).toBe(true);
    const job = slots[0]?.executor as JobExecutor;
    const recordsIn = (): number => slots.reduce((n, s) => n + (s.executor?.status().recordsIn ?? 0), 0);
    await expect.poll(recordsIn, { timeout: 60_000, interval: 20 }).toBeGreaterThan(1500);

    // Linked (generation 1, parallelism 3), then its process runs: it waits for slot 0's join state.
    for (const s of slots) s.prepareJoin(1, 3);
    const joiner = new SlotProcess({ ...base(2, 3), join: { generation: 1 } });
    await joiner.listen();
    await Promise.all([joiner.link(), ...slots.map((s) => s.addPeer(2, joiner.address, 10_000))]);
    const joinerRun = joiner.run();
    joinerRun.catch(() => undefined);
    live.push([joiner, joinerRun]);
    runs.push(joinerRun);
    return { slots, joiner, runs, job, input$, stateDir };
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

  /** Reads every input record, stops with a savepoint; the output read_committed must equal the reference. */
  async function exactlyOnce(job: JobExecutor, runs: Promise<unknown>[], output: string, stateDir: string) {
    await readToEnd(job);
    await job.triggerSavepoint({ stop: true });
    expect(await ended(runs)).toEqual(runs.map(() => 'STOPPED'));
    expectExactly(await committedOutput(output));
    // Not vacuous: the join's and the plan's checkpoints, a step's, the read-to-end's at least (periodic ones vary
    // with the machine's load: 10 on a loaded one).
    expect(await j.eachPartitionOnce(stateDir)).toBeGreaterThan(3);
  }

  /** The key groups formula at 3 gives slot 2. */
  const slot2 = Array.from({ length: MAXP }, (_, kg) => kg).filter((kg) => slotForKeyGroup(kg, 3, MAXP) === 2);

  it('the pieces: slot 2 joins, checkpoints complete with 3 members, then migrate 2 → 3: exactly-once', async () => {
    const input = `it-xjoinrun-in-${run}`;
    const output = `it-xjoinrun-out-${run}`;
    const { joiner, runs, job, input$, stateDir } = await start(input, output);

    await (job.remoteJoin as NonNullable<JobExecutor['remoteJoin']>).join(2);
    expect(joiner.jobState).toBe('RUNNING');
    expect(input$.done, 'joined while the input is still written').toBe(false);
    // Later checkpoints complete with 3 members; slot 2 owns nothing yet (no key group, no partition).
    const after = await job.triggerCheckpoint();
    const m = await readMetadata(after.path);
    expect(m.parallelism).toBe(3);
    expect((m.sources['events'] ?? []).map((s) => s.slot).sort()).toEqual([0, 1, 2]);
    expect((await positions(after.path)).get(2)).toEqual({});
    expect((await keyGroupsAt(after.path)).get(2) ?? []).toEqual([]);
    expect((await job.triggerCheckpoint()).id).toBeGreaterThan(after.id);

    // 2 → 3: the plan's steps move key groups and partitions to slot 2, in the other process.
    const up = plan(input, P, 3);
    expect(up.movedPartitions).toBeGreaterThan(0);
    await job.migrate(up);
    expect(input$.done, 'migrated while the input is still written').toBe(false);
    input$.tail();
    const moved = await job.triggerCheckpoint();
    expect(owned(await positions(moved.path))).toEqual(formula(input, 3));
    expect(((await keyGroupsAt(moved.path)).get(2) ?? []).sort((a, b) => a - b)).toEqual(slot2);
    await input$.all;
    await exactlyOnce(job, runs, output, stateDir);
  }, 240_000);

  it('the entry: rescale(3) on slot 0 joins the linked process, plans and migrates: exactly-once', async () => {
    const input = `it-xjoinrun-entry-in-${run}`;
    const output = `it-xjoinrun-entry-out-${run}`;
    const { runs, job, input$, stateDir } = await start(input, output);
    const phases: string[] = [];
    const report = await job.rescale(3, { budgetBytes: 256, onProgress: (p) => phases.push(p.phase) });
    expect(report).toMatchObject({ from: 2, to: 3, phase: 'done' });
    expect(report.stepsDone).toBe(report.steps);
    expect(report.steps, JSON.stringify(report)).toBeGreaterThan(1);
    expect([...new Set(phases)]).toEqual(['joining', 'moving', 'done']);
    expect(job.parallelism).toBe(3);
    expect(input$.done, 'rescaled while the input is still written').toBe(false);
    input$.tail();
    const moved = await job.triggerCheckpoint();
    expect(owned(await positions(moved.path))).toEqual(formula(input, 3));
    expect(((await keyGroupsAt(moved.path)).get(2) ?? []).sort((a, b) => a - b)).toEqual(slot2);
    await input$.all;
    await exactlyOnce(job, runs, output, stateDir);
  }, 240_000);

  it('a join-wired lost fails the join by its deadline, naming the slot; the job fails', async () => {
    const input = `it-xjoinrun-lost-in-${run}`;
    const output = `it-xjoinrun-lost-out-${run}`;
    // Short, so the deadline comes soon; long enough that a loaded machine's checkpoints complete within it.
    const timeoutMs = 8000;
    const { slots, runs, job, input$ } = await start(input, output, timeoutMs);
    input$.tail();
    // The one fault the real data plane cannot produce on demand: slot 1's join-wired is dropped.
    const plane = (slots[1] as SlotProcess).dataPlane;
    const send = plane.sendControl.bind(plane);
    let dropped = 0;
    plane.sendControl = (slot, msg) => {
      if ((msg as { m?: string }).m === 'join-wired' && dropped++ === 0) return true;
      return send(slot, msg);
    };
    const t0 = Date.now();
    await expect(job.rescale(3)).rejects.toMatchObject({
      code: 'TRIB_RESCALE_STEP_FAILED',
      message: expect.stringMatching(
        new RegExp(
          `slot 2's wiring into the running slots was not done within ${timeoutMs} ms: no join-wired from slot 1$`,
        ),
      ) as unknown,
    });
    expect(dropped).toBe(1);
    expect(Date.now() - t0).toBeLessThan(4 * timeoutMs);
    expect(await ended(runs)).toEqual(['FAILED', 'FAILED', 'FAILED']);
    await input$.all;
  }, 240_000);
});
