// mapAsync through the TypeScript API and the executor: validation of its fields, order and
// capacity in a local run at parallelism 1 and 2, its busy time in the slot's LoadMeter, and
// exactly-once output across crashes restored from checkpoints (a transactional sink).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StreamEnvironment, datagen } from '../api.ts';
import { latestCheckpointPath } from '../checkpoint/coordinator.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { isTributaryError } from '../errors.ts';
import { createJobExecutor, JobExecutor } from '../job/job-executor.ts';
import { LoadMeter } from '../core/load-meter.ts';
import type { AsyncOperator } from '../operators/async-operator.ts';
import type { Rec } from '../core/record.ts';
import { batchOf, CollectingOutput, CollectingSink, testContext, type Emitted } from '../testing/harness.ts';
import { TransactionalCollectingSink, TransactionStore } from '../testing/transactional-sink.ts';
import { buildFunctionOperator } from './function-operators.ts';

/** Resolves after `n` turns of the event loop: calls complete out of order without timers. */
const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A service call: counts the calls open at once, answers after a per-value number of turns. */
function service() {
  const s = {
    open: 0,
    maxOpen: 0,
    call: async (x: number): Promise<{ x: number; y: number }> => {
      s.open++;
      s.maxOpen = Math.max(s.maxOpen, s.open);
      await turns((x * 7919) % 5);
      s.open--;
      return { x, y: x * 2 };
    },
  };
  return s;
}

describe('mapAsync', () => {
  it('refuses a capacity below 1 or not an integer, a bad timeout, and both on another kind, by path', () => {
    const env = new StreamEnvironment();
    const src = env.fromCollection([1, 2]);
    src.mapAsync((x) => Promise.resolve(x), { capacity: 0, name: 'a' }).print('o1');
    src.mapAsync((x) => Promise.resolve(x), { capacity: 2.5, timeout: 'soon', name: 'b' }).print('o2');
    src.mapAsync((x) => Promise.resolve(x), { capacity: 2, name: 'c' }).print('o3');
    const graph = env.toGraph();
    const fn = (i: number) => ((graph.steps ?? [])[i] as unknown as { function: Record<string, unknown> }).function;
    fn(2)['kind'] = 'map';
    let err: unknown;
    try {
      validateGraph(graph);
    } catch (e) {
      err = e;
    }
    expect(isTributaryError(err) && err.issues.map((i) => [i.path, i.message])).toEqual([
      ['graph.steps[0].function.capacity', 'expected an integer ≥ 1, got 0'],
      ['graph.steps[1].function.capacity', 'expected an integer ≥ 1, got 2.5'],
      ['graph.steps[1].function.timeout', 'expected a duration like "1m", got "soon"'],
      ['graph.steps[2].function.capacity', 'only mapAsync takes a capacity, not map'],
    ]);
  });

  it('runs a job: the results in input order at parallelism 1, all of them at 2, never above capacity', async () => {
    const input = Array.from({ length: 500 }, (_, i) => i);
    const run = async (parallelism: number) => {
      const svc = service();
      const env = new StreamEnvironment();
      env
        .fromCollection(input)
        .mapAsync((x) => svc.call(x), { capacity: 3, name: 'enrich' })
        .print('out');
      const out = await env.executeAndCollect({ parallelism, batchSize: 64 });
      return { got: (out.get('out') as Emitted[]).map((e) => e.rec as unknown as { x: number; y: number }), svc };
    };
    const one = await run(1);
    expect(one.got).toEqual(input.map((x) => ({ x, y: x * 2 })));
    expect(one.svc.maxOpen).toBe(3);
    const two = await run(2);
    expect(two.got.map((r) => r.x).sort((a, b) => a - b)).toEqual(input);
    expect(two.got.every((r) => r.y === r.x * 2)).toBe(true);
    // Both slots share this process: 3 calls each at most.
    expect(two.svc.maxOpen).toBeLessThanOrEqual(6);
  });

  it('fails the job with TRIB_FUNCTION_FAILED naming the record when a call rejects (onError fail)', async () => {
    const env = new StreamEnvironment();
    env
      .fromCollection([1, 2, 3])
      .mapAsync((x) => (x === 2 ? Promise.reject(new Error('503 from service')) : Promise.resolve(x)), 'enrich')
      .print('out');
    const err: unknown = await env.executeAndCollect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTributaryError(err) && err.code).toBe('TRIB_FUNCTION_FAILED');
    expect((err as Error).message).toMatch(/step "enrich".*record 2.*503 from service/);
  });

  it('skips and counts the records whose calls reject or time out with onError skip', async () => {
    const env = new StreamEnvironment();
    env
      .fromCollection([1, 2, 3, 4, 5, 6, 7])
      .mapAsync(
        (x) => {
          if (x === 5) return new Promise<number>(() => undefined); // never settles
          return x % 2 === 0 ? Promise.reject(new Error('even')) : Promise.resolve(x * 10);
        },
        { name: 'enrich', timeout: '20ms', onError: 'skip' },
      )
      .print('out');
    const got: Emitted[] = [];
    const job = new JobExecutor(validateGraph(env.toGraph()), {
      parallelism: 1,
      functions: env.functions,
      sinkWriter: () => new CollectingSink(got),
    });
    await job.run();
    expect(got.map((e) => e.rec)).toEqual([10, 30, 70]);
    const counted = await job.metrics.registry.getSingleMetric('tributary_function_errors_total')?.get();
    expect(counted?.values.map((v) => [v.labels['step'], v.value])).toEqual([['enrich', 4]]);
  });

  it('registers busy time in the slot LoadMeter: about all the time at capacity, next to none idle', async () => {
    const load = new LoadMeter();
    const posted: (() => void)[] = [];
    let op: AsyncOperator | undefined;
    const answers: (() => void)[] = [];
    const registry = new Map([
      [
        'enrich',
        {
          kind: 'mapAsync' as const,
          fn: (v: unknown) => new Promise<unknown>((r) => answers.push(() => r(v))),
        },
      ],
    ]);
    const out = new CollectingOutput();
    const built = buildFunctionOperator(
      { kind: 'mapAsync', ref: 'enrich', capacity: 2 },
      registry,
      { ...testContext(), stepName: 'enrich' },
      out,
      () => undefined,
      undefined,
      { mailbox: { post: (cb) => posted.push(cb) }, load, asyncOperator: (o) => (op = o) },
    );
    expect(op).toBe(built);
    const busy = () => load.busyMs()['enrich'] as number;
    // At capacity: two calls open.
    built.push(
      batchOf([
        [{ id: 1 } as Rec, 1],
        [{ id: 2 } as Rec, 2],
      ]),
    );
    let t0 = performance.now();
    let b0 = busy();
    await sleep(60);
    let elapsed = performance.now() - t0;
    expect(busy() - b0).toBeGreaterThanOrEqual(0.5 * elapsed);
    for (const a of answers.splice(0)) a();
    while (posted.length < 2) await turns(1);
    for (const cb of posted.splice(0)) cb();
    expect(out.records.length).toBe(2);
    // Idle: nothing open.
    t0 = performance.now();
    b0 = busy();
    await sleep(60);
    elapsed = performance.now() - t0;
    expect(busy() - b0).toBeLessThanOrEqual(0.1 * elapsed);
  });
});

const COUNT = 4000;
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function start(store: TransactionStore, parallelism: number, dir: string, rate?: number, restoreFrom?: string) {
  const env = new StreamEnvironment();
  env
    .fromSource(
      datagen<{ id: number }>({
        generator: 'schema',
        seed: 3,
        count: COUNT,
        ...(rate ? { rate } : {}),
        fields: { id: { type: 'sequence' } },
      }),
      { name: 'events' },
    )
    .mapAsync(
      async (e) => {
        await turns(e.id % 4);
        return { id: e.id, y: e.id * 3 };
      },
      { capacity: 16, name: 'enrich' },
    )
    .print('out');
  const job = await createJobExecutor(validateGraph(env.toGraph()), {
    parallelism,
    maxParallelism: 128,
    functions: env.functions,
    sinkWriter: () => new TransactionalCollectingSink(store),
    checkpointing: { stateDir: dir, intervalMs: 50, retained: 2, timeoutMs: 20_000 },
    restoreFrom,
  });
  const done = job.run();
  done.catch(() => undefined);
  return { job, done };
}

describe('mapAsync across crashes', () => {
  it('commits every result exactly once when crashed at random moments and restored from checkpoints', async () => {
    const store = new TransactionStore();
    const dir = await mkdtemp(join(tmpdir(), 'trib-map-async-'));
    dirs.push(dir);
    let restoreFrom: string | undefined;
    for (let round = 0; round < 3; round++) {
      const r = await start(store, 2, dir, 4000, restoreFrom);
      const before = restoreFrom;
      while ((r.job.status().lastCheckpoint?.path ?? before) === before) await sleep(10);
      await sleep(Math.floor(Math.random() * 100));
      r.job.crash();
      await expect(r.done).rejects.toMatchObject({ code: 'TRIB_JOB_FAILED' });
      restoreFrom = (await latestCheckpointPath(dir)) ?? restoreFrom;
    }
    const last = await start(store, 2, dir, undefined, restoreFrom);
    await last.done;
    const ids = store.committed.map((r) => (r as { id: number }).id).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: COUNT }, (_, i) => i));
    expect(store.committed.every((r) => (r as { y: number }).y === (r as { id: number }).id * 3)).toBe(true);
  }, 60_000);
});
