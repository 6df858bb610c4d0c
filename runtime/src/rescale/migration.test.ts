// Live rescale between the slots of one JobExecutor (migration.ts;
// docs/design/live-rescale.md): a keyed job — a tumbling window with count/sum and a rolling
// count behind the same keyBy — runs at parallelism 3 while key groups move to the assignment of
// 2 slots and back, step by step, each step on a checkpoint barrier (plans from rescale/plan.ts).
// Its committed output must be exactly that of an uninterrupted run at parallelism 1 (same
// records, same values, none lost, none twice), and a checkpoint taken mid-migration — owners
// that no formula gives — must restore to the same output, at another parallelism too.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { latestCheckpointPath } from '../checkpoint/coordinator.ts';
import { readMetadata } from '../checkpoint/metadata.ts';
import type { SinkWriter } from '../connectors/api.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { TributaryError } from '../errors.ts';
import type { GraphSpec } from '../graph/spec.ts';
import type { ValidatedGraph } from '../graph/validate.ts';
import { planMigration, type MigrationPlan } from './plan.ts';
import { keyedWindowGraph } from '../testing/keyed-window-graph.ts';
import { TransactionalCollectingSink, TransactionStore } from '../testing/transactional-sink.ts';
import { createJobExecutor, type JobExecutor } from '../job/job-executor.ts';

const COUNT = 20_000;
const MAXP = 128;

function spec(rate: number | undefined): GraphSpec {
  const g = keyedWindowGraph({ rate, count: COUNT, seed: 5, keys: 600, windowSize: '2s' });
  // A rolling count per key beside the window: one output per record (1, 2, … per key, whatever
  // the interleaving of the source slots), so a record lost or counted twice changes the output.
  g.steps?.push({ name: 'running', from: 'byKey', aggregate: { seen: 'count()' } });
  g.sinks.push({ name: 'rolling', from: 'running', console: {} });
  return g;
}

const sorted = (recs: unknown[]): string[] =>
  recs.map((r) => JSON.stringify(r, Object.keys(r as object).sort())).sort();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function reference(): Promise<string[]> {
  const store = new TransactionStore();
  const job = await createJobExecutor(validateGraph(spec(undefined)), {
    parallelism: 1,
    sinkWriter: () => new TransactionalCollectingSink(store),
  });
  await job.run();
  return sorted(store.committed);
}

async function start(
  graph: ValidatedGraph,
  store: TransactionStore,
  parallelism: number,
  stateDir: string,
  restoreFrom?: string,
  o: { intervalMs?: number; sink?: () => SinkWriter } = {},
): Promise<{ job: JobExecutor; done: Promise<unknown> }> {
  const job = await createJobExecutor(graph, {
    parallelism,
    maxParallelism: MAXP,
    sinkWriter: o.sink ?? (() => new TransactionalCollectingSink(store)),
    checkpointing: { stateDir, retained: 3, timeoutMs: 20_000, intervalMs: o.intervalMs },
    ...(restoreFrom ? { restoreFrom } : {}),
  });
  const done = job.run();
  done.catch(() => undefined);
  return { job, done };
}

/** Key groups as if the job ran at `from` → at `to`, in steps of at most 12 key groups per slot. */
const plan = (from: number, to: number): MigrationPlan =>
  planMigration({
    maxParallelism: MAXP,
    from,
    to,
    keyGroupBytes: new Array<number>(MAXP).fill(100),
    partitions: [],
    budget: { bytes: 1200 },
  });

/** The key-group lists per slot of step `step` in the latest checkpoint. */
async function listed(stateDir: string, step: string): Promise<unknown[]> {
  const m = await readMetadata((await latestCheckpointPath(stateDir)) as string);
  return (m.operators[step]?.keyed ?? []).sort((a, b) => a.slot - b.slot).map((f) => f.keyGroups);
}

describe('live rescale between the slots of one job', () => {
  let ref: string[];

  it('moves key groups to 2 slots’ assignment and back while running: output exactly as unmigrated', async () => {
    ref = await reference();
    expect(ref.length).toBeGreaterThan(COUNT);
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-live-'));
    dirs.push(stateDir);
    const store = new TransactionStore();
    // Periodic checkpoints meanwhile: a step rides on whichever checkpoint is triggered first after it is armed.
    const a = await start(validateGraph(spec(5_000)), store, 3, stateDir, undefined, { intervalMs: 100 });
    await sleep(300);
    const out = plan(3, 2);
    expect(out.steps.length).toBeGreaterThan(2);
    const t0 = performance.now();
    await a.job.migrate(out);
    const migrationMs = performance.now() - t0;
    await a.job.triggerCheckpoint();
    // Slot 2 holds nothing any more; slots 0 and 1 hold what a restart at 2 would give them.
    for (const step of ['per-key', 'running'])
      expect(await listed(stateDir, step)).toEqual([[[0, 63]], [[64, 127]], []]);
    await a.job.migrate(plan(2, 3));
    expect(a.job.status().recordsIn, `3 → 2 took ${Math.round(migrationMs)} ms`).toBeLessThan(COUNT); // mid-stream
    await a.done;
    expect(store.prepared.size).toBe(0);
    expect(sorted(store.committed)).toEqual(ref);
  }, 60_000);

  it('a checkpoint taken mid-migration restores to the same output, at 3 and at 2', async () => {
    for (const restoreAt of [3, 2]) {
      const stateDir = await mkdtemp(join(tmpdir(), 'trib-live-'));
      dirs.push(stateDir);
      const store = new TransactionStore();
      const graph = validateGraph(spec(5_000));
      const a = await start(graph, store, 3, stateDir);
      await sleep(300);
      // Two steps of the plan, then a crash: the latest checkpoint is the second step's barrier,
      // taken after the first step and before the second, owners between two formulas.
      const full = plan(3, 2);
      await a.job.migrate({ ...full, steps: full.steps.slice(0, 2) });
      const mid = await listed(stateDir, 'per-key');
      expect(mid).not.toEqual([[[0, 42]], [[43, 85]], [[86, 127]]]);
      expect(mid).not.toEqual([[[0, 63]], [[64, 127]], []]);
      a.job.crash();
      await expect(a.done).rejects.toMatchObject({ code: 'TRIB_JOB_FAILED' });
      const b = await start(graph, store, restoreAt, stateDir, await latestCheckpointPath(stateDir));
      await b.done;
      expect(sorted(store.committed), `restored at ${restoreAt}`).toEqual(ref);
    }
  }, 60_000);

  it('refuses a plan this job cannot carry out, before anything moves', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-live-'));
    dirs.push(stateDir);
    const a = await start(validateGraph(spec(5_000)), new TransactionStore(), 3, stateDir);
    // Key groups are where 3 slots put them, not 2: a 2 → 3 plan starts from the wrong owners.
    await expect(a.job.migrate(plan(2, 3))).rejects.toMatchObject({ code: 'TRIB_RESCALE_PLAN_INVALID' });
    await expect(a.job.migrate(plan(4, 3))).rejects.toMatchObject({ code: 'TRIB_RESCALE_UNSUPPORTED' });
    // A datagen source stripes its input by parallelism: its "partitions" cannot move (§1).
    const move = { source: 'events', topic: 'events', partition: 2, from: 2, to: 0 };
    const steps = [{ keyGroups: [], partitions: [move], bytes: 0 }];
    await expect(a.job.migrate({ ...plan(3, 3), steps, movedPartitions: 1 })).rejects.toMatchObject({
      code: 'TRIB_RESCALE_UNSUPPORTED',
      message: expect.stringMatching(/partition 2 of source "events", which cannot move its input.*datagen/),
    });
    a.job.stop();
    await a.done;
  }, 60_000);

  it('a step whose checkpoint fails after its barrier went out fails the job', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-live-'));
    dirs.push(stateDir);
    // Injected: a sink whose pre-commit fails (transiently: the checkpoint is declined after its
    // barrier passed every task, which the real sink does not do on demand).
    const store = new TransactionStore();
    const sink = (): SinkWriter =>
      Object.assign(new TransactionalCollectingSink(store), {
        preCommit: () => Promise.reject(new TributaryError('TRIB_CHECKPOINT_DECLINED', 'injected pre-commit failure')),
      });
    const a = await start(validateGraph(spec(5_000)), store, 3, stateDir, undefined, { sink });
    await sleep(200);
    await expect(a.job.migrate(plan(3, 2))).rejects.toMatchObject({ code: 'TRIB_RESCALE_STEP_FAILED' });
    // The job fails with it (not only the migration): its routing may be half flipped.
    await expect(a.done).rejects.toMatchObject({ code: 'TRIB_RESCALE_STEP_FAILED' });
  }, 60_000);
});
