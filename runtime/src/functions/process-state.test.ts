// A keyed process function with ValueState, ListState, MapState and event-time timers in a
// checkpointed job: stop-with-savepoint at parallelism 2, restore at 3 (state redistributed by
// key group), crash at random moments and restore from the latest checkpoint — the committed
// output of a transactional sink equals an uninterrupted run's. Also, at the operator: processing-
// time timers survive a snapshot/restore into another slot layout.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  StreamEnvironment,
  datagen,
  type Collector,
  type KeyedContext,
  type KeyedProcessFunction,
  type OnTimerContext,
  type RuntimeContext,
  type ListState,
  type MapState,
  type ValueState,
} from '../api.ts';
import { latestCheckpointPath } from '../checkpoint/coordinator.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { createJobExecutor } from '../job/job-executor.ts';
import type { FunctionRegistry } from '../graph/function-registry.ts';
import type { ValidatedGraph } from '../graph/validate.ts';
import { CollectingOutput, ManualClock, keyedBatch, testContext } from '../testing/harness.ts';
import { TransactionalCollectingSink, TransactionStore } from '../testing/transactional-sink.ts';
import { jobStateBackend, TEST_BACKENDS, trackStores, type TestBackend } from '../testing/state-backends.ts';
import { functionErrorPolicy } from './function-lookup.ts';
import { KeyedProcessOperator } from './keyed-process-operator.ts';

const COUNT = 30_000;
interface Ev {
  id: number;
  k: string;
  v: number;
  ts: number;
}
interface Summary {
  key: string;
  end: number;
  /** How many summaries this key emitted before (ValueState across windows). */
  seq: number;
  count: number;
  sum: number;
  top3: number[];
}

/**
 * Per key and 5 s of event time: count, sum and top three values, emitted by an event-time
 * timer at the window's end. State is indexed by window end, so the output does not depend on
 * the order in which the slots' records interleave.
 */
class Summarize implements KeyedProcessFunction<string, Ev, Summary> {
  seq!: ValueState<number>;
  counts!: MapState<number, number>;
  sums!: MapState<number, number>;
  values!: ListState<[number, number]>;

  open(ctx: RuntimeContext): void {
    this.seq = ctx.getState('seq');
    this.counts = ctx.getMapState('counts');
    this.sums = ctx.getMapState('sums');
    this.values = ctx.getListState('values');
  }

  processElement(e: Ev, ctx: KeyedContext<string>): void {
    const end = e.ts - (e.ts % 5000) + 4999;
    this.counts.put(end, (this.counts.get(end) ?? 0) + 1);
    this.sums.put(end, (this.sums.get(end) ?? 0) + e.v);
    this.values.add([end, e.v]);
    ctx.timerService().registerEventTimeTimer(end);
  }

  onTimer(t: number, ctx: OnTimerContext<string>, out: Collector<Summary>): void {
    const seq = this.seq.value() ?? 0;
    const mine = this.values.get().filter(([end]) => end === t);
    out.collect({
      key: ctx.getCurrentKey(),
      end: t,
      seq,
      count: this.counts.get(t) ?? 0,
      sum: this.sums.get(t) ?? 0,
      top3: mine
        .map(([, v]) => v)
        .sort((a, b) => a - b)
        .slice(-3),
    });
    this.seq.update(seq + 1);
    this.counts.remove(t);
    this.sums.remove(t);
    this.values.update(this.values.get().filter(([end]) => end !== t));
  }
}

function build(rate: number | undefined): { graph: ValidatedGraph; functions: FunctionRegistry } {
  const env = new StreamEnvironment();
  env
    .fromSource(
      datagen<Ev>({
        generator: 'schema',
        seed: 11,
        count: COUNT,
        ...(rate ? { rate } : {}),
        startTime: 1_700_000_000_000,
        eventRate: 1000,
        fields: {
          id: { type: 'sequence' },
          k: { type: 'string', prefix: 'k', cardinality: 61 },
          v: { type: 'int', min: 0, max: 100 },
          ts: { type: 'timestamp' },
        },
      }),
      { name: 'events', timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '2s' } },
    )
    .keyBy('k')
    .process(new Summarize(), 'summarize')
    .print('out');
  return { graph: validateGraph(env.toGraph()), functions: env.functions };
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const sorted = (recs: unknown[]): string[] => recs.map((r) => JSON.stringify(r)).sort();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function start(
  backend: TestBackend,
  rate: number | undefined,
  store: TransactionStore,
  parallelism: number,
  stateDir: string,
  restoreFrom?: string,
  intervalMs?: number,
) {
  const { graph, functions } = build(rate);
  const job = await createJobExecutor(graph, {
    parallelism,
    maxParallelism: 128,
    functions,
    sinkWriter: () => new TransactionalCollectingSink(store),
    checkpointing: { stateDir, intervalMs, retained: 2, timeoutMs: 20_000 },
    restoreFrom,
    stateBackend: jobStateBackend(backend),
  });
  const done = job.run();
  done.catch(() => undefined);
  return { job, done };
}

/** The output of an uninterrupted run with keyed state on the heap. */
async function reference(): Promise<string[]> {
  const store = new TransactionStore();
  const r = await start(TEST_BACKENDS[0] as TestBackend, undefined, store, 1, await temp());
  await r.done;
  return sorted(store.committed);
}

async function temp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'trib-fn-'));
  dirs.push(d);
  return d;
}

describe.each(TEST_BACKENDS)('keyed process function state ($name)', (tb) => {
  const stores = trackStores(tb);
  afterEach(() => stores.closeAll());
  it('stop-with-savepoint at 2, restore at 3, then at 1: same output as an uninterrupted run', async () => {
    const ref = await reference();
    expect(ref.length).toBeGreaterThan(300);
    const store = new TransactionStore();
    const dir = await temp();
    const a = await start(tb, 20_000, store, 2, dir);
    await sleep(300);
    const sp1 = await a.job.triggerSavepoint({ stop: true });
    await a.done;
    expect(a.job.status().recordsIn).toBeLessThan(COUNT);
    const b = await start(tb, 20_000, store, 3, dir, sp1.path);
    await sleep(300);
    const sp2 = await b.job.triggerSavepoint({ stop: true });
    await b.done;
    const c = await start(tb, undefined, store, 1, dir, sp2.path);
    await c.done;
    expect(store.prepared.size).toBe(0);
    expect(sorted(store.committed)).toEqual(ref);
  }, 60_000);

  it('crashes at random moments and restores from the latest checkpoint at 2 or 3: same output', async () => {
    const ref = await reference();
    const store = new TransactionStore();
    const dir = await temp();
    let restoreFrom: string | undefined;
    for (let round = 0; round < 3; round++) {
      const r = await start(tb, 15_000, store, 2 + (round % 2), dir, restoreFrom, 60);
      // After one of this round's own checkpoints (an event: a loaded machine may take seconds
      // for the first), at a random moment.
      const before = restoreFrom;
      while ((r.job.status().lastCheckpoint?.path ?? before) === before) await sleep(10);
      await sleep(Math.floor(Math.random() * 150));
      r.job.crash();
      await expect(r.done).rejects.toMatchObject({ code: 'TRIB_JOB_FAILED' });
      restoreFrom = (await latestCheckpointPath(dir)) ?? restoreFrom;
    }
    expect(restoreFrom).toBeDefined();
    const last = await start(tb, undefined, store, 3, dir, restoreFrom, 60);
    await last.done;
    expect(sorted(store.committed)).toEqual(ref);
  }, 60_000);

  it('keeps processing-time timers across a snapshot restored at another parallelism', () => {
    const fired: string[] = [];
    const fn: KeyedProcessFunction<string, { k: string }, string> = {
      processElement(_e, ctx) {
        ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + 100);
      },
      onTimer(t, ctx, out) {
        expect(ctx.timeDomain()).toBe('processing');
        out.collect(`${ctx.getCurrentKey()}@${t}`);
      },
    };
    const clock = new ManualClock(1000);
    const ctx = testContext({ slot: 0, parallelism: 1, clock, stateStore: stores.open });
    const op = new KeyedProcessOperator('p', fn, ctx, functionErrorPolicy('fail', ctx), new CollectingOutput());
    op.push(
      keyedBatch([
        [{ k: 'a' }, 1, ['a']],
        [{ k: 'b' }, 2, ['b']],
        [{ k: 'c' }, 3, ['c']],
      ]),
    );
    const snap = op.snapshotState();
    // Restore into two slots; each fires the timers of its own key groups only.
    for (const slot of [0, 1]) {
      const c2 = new ManualClock(1000);
      const ctx2 = testContext({ slot, parallelism: 2, clock: c2, stateStore: stores.open });
      const out = new CollectingOutput();
      const op2 = new KeyedProcessOperator('p', fn, ctx2, functionErrorPolicy('fail', ctx2), out);
      op2.restoreState([snap]);
      c2.advanceTo(1099);
      expect(out.records.length).toBe(0);
      c2.advanceTo(1100);
      fired.push(...out.records.map((r) => r.rec as unknown as string));
    }
    expect(fired.sort()).toEqual(['a@1100', 'b@1100', 'c@1100']);
  });
});
