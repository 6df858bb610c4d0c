// Function steps end to end through the executor: the seed example, typed chains mixing
// functions with CEL steps, keyed reduce/aggregate, windows, function keys and timestamp
// assigners, and the error policy (fail with the record attached, or skip and count).
import { describe, expect, it } from 'vitest';
import {
  EventTimeSessionWindows,
  SlidingEventTimeWindows,
  StreamEnvironment,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type AggregateFunction,
} from '../api.ts';
import { isTributaryError } from '../errors.ts';
import type { Emitted } from '../testing/harness.ts';

const values = (out: Map<string, Emitted[]>, sink: string): unknown[] => (out.get(sink) ?? []).map((e) => e.rec);
const sortJson = (xs: unknown[]): string[] => xs.map((x) => JSON.stringify(x)).sort();

interface Click {
  user: string;
  page: string;
  ms: number;
  ts: number;
}
const clicks: Click[] = Array.from({ length: 600 }, (_, i) => ({
  user: `u${(i * 7) % 13}`,
  page: ['home', 'cart', 'pay'][i % 3] as string,
  ms: (i % 17) * 10,
  ts: 1_000_000 + i * 250,
}));

const avg: AggregateFunction<Click, { n: number; sum: number }, number> = {
  create: () => ({ n: 0, sum: 0 }),
  add: (a, c) => ({ n: a.n + 1, sum: a.sum + c.ms }),
  merge: (a, b) => ({ n: a.n + b.n, sum: a.sum + b.sum }),
  result: (a) => a.sum / a.n,
};

describe('function steps', () => {
  it('runs the seed example: [1, 2, 3, 4] mapped by x => x * 2 prints 2, 4, 6, 8', async () => {
    const env = new StreamEnvironment();
    env
      .fromCollection([1, 2, 3, 4])
      .map((x) => x * 2)
      .print('out');
    const out = await env.executeAndCollect();
    expect(values(out, 'out')).toEqual([2, 4, 6, 8]);
  });

  it('gives the same results at parallelism 1, 2 and 3 for a chain of functions, CEL steps and a keyed reduce', async () => {
    // A running reduce emits once per element; the last value per key does not depend on order.
    const run = async (p: number): Promise<{ n: number; max: Record<string, number> }> => {
      const env = new StreamEnvironment();
      env
        .fromCollection(clicks)
        .filter((c) => c.page !== 'home')
        .map({ user: 'user', ms: 'ms * 2.0' })
        .flatMap((r) => [r, { ...r, user: 'all' }])
        .keyBy((r) => String(r['user']))
        .reduce((a, b) => ({ user: a['user'], ms: Math.max(Number(a['ms']), Number(b['ms'])) }))
        .print('out');
      const got = values(await env.executeAndCollect({ parallelism: p }), 'out') as { user: string; ms: number }[];
      const max: Record<string, number> = {};
      for (const r of got) max[r.user] = Math.max(max[r.user] ?? 0, r.ms);
      return { n: got.length, max };
    };
    const kept = clicks.filter((c) => c.page !== 'home');
    const want: Record<string, number> = { all: Math.max(...kept.map((c) => c.ms * 2)) };
    for (const c of kept) want[c.user] = Math.max(want[c.user] ?? 0, c.ms * 2);
    for (const p of [1, 2, 3]) expect(await run(p)).toEqual({ n: 2 * kept.length, max: want });
  });

  it('aggregates per key and tumbling, sliding and session window with an AggregateFunction', async () => {
    const env = new StreamEnvironment();
    const src = env.fromCollection(clicks, {
      watermarks: WatermarkStrategy.forBoundedOutOfOrderness<Click>('1s').withTimestampAssigner((c) => c.ts),
    });
    const keyed = src.keyBy('user');
    keyed
      .window(TumblingEventTimeWindows.of('10s'))
      .aggregate(avg, (mean, user, w) => ({ user, start: w.start, end: w.end, mean }))
      .print('tumbling');
    keyed
      .window(SlidingEventTimeWindows.of('20s', '10s'))
      .reduce((a, b) => (a.ms >= b.ms ? a : b))
      .print('sliding');
    keyed
      .window(EventTimeSessionWindows.withGap('2s'))
      .aggregate(avg, (mean, user, w) => ({ user, start: w.start, end: w.end, mean }))
      .print('session');
    const out = await env.executeAndCollect({ parallelism: 2 });

    // Reference computed directly from the data.
    const expected = new Map<string, { n: number; sum: number }>();
    for (const c of clicks) {
      const start = c.ts - (c.ts % 10_000);
      const k = JSON.stringify([c.user, start]);
      const a = expected.get(k) ?? { n: 0, sum: 0 };
      expected.set(k, { n: a.n + 1, sum: a.sum + c.ms });
    }
    const ref = [...expected].map(([k, a]) => {
      const [user, start] = JSON.parse(k) as [string, number];
      return { user, start, end: start + 10_000, mean: a.sum / a.n };
    });
    expect(sortJson(values(out, 'tumbling'))).toEqual(sortJson(ref));
    // Each record is in two sliding windows; every window's max is one of its records.
    expect(values(out, 'sliding').length).toBeGreaterThan(ref.length);
    // A user's clicks are 13 × 250 ms = 3.25 s apart: more than the 2 s gap, so every session holds one click.
    expect(values(out, 'session').length).toBe(clicks.length);
  });

  it("merges session windows, out-of-order records included, with the aggregate function's merge", async () => {
    const env = new StreamEnvironment();
    const count: AggregateFunction<{ k: string; ts: number }, number, number> = {
      create: () => 0,
      add: (n) => n + 1,
      merge: (a, b) => a + b,
      result: (n) => n,
    };
    env
      .fromCollection(
        [
          { k: 'a', ts: 0 },
          { k: 'a', ts: 1500 },
          { k: 'b', ts: 1600 },
          { k: 'a', ts: 800 },
          { k: 'a', ts: 5000 },
        ],
        {
          watermarks: WatermarkStrategy.forBoundedOutOfOrderness<{ k: string; ts: number }>('1s').withTimestampField(
            'ts',
          ),
        },
      )
      .keyBy('k')
      .window(EventTimeSessionWindows.withGap('2s'))
      .aggregate(count, (n, k, w) => ({ k, n, start: w.start, end: w.end }))
      .print('out');
    expect(sortJson(values(await env.executeAndCollect(), 'out'))).toEqual(
      sortJson([
        { k: 'a', n: 3, start: 0, end: 3500 },
        { k: 'b', n: 1, start: 1600, end: 3600 },
        { k: 'a', n: 1, start: 5000, end: 7000 },
      ]),
    );
  });

  it('keeps a running AggregateFunction per key (one output per element)', async () => {
    const env = new StreamEnvironment();
    env
      .fromCollection(clicks)
      .keyBy((c) => c.page)
      .aggregate(avg)
      .print('out');
    const got = values(await env.executeAndCollect({ parallelism: 3 }), 'out') as number[];
    expect(got.length).toBe(clicks.length);
    const finals = ['home', 'cart', 'pay'].map((p) => {
      const xs = clicks.filter((c) => c.page === p);
      return xs.reduce((s, c) => s + c.ms, 0) / xs.length;
    });
    for (const f of finals) expect(got).toContain(f);
  });

  it('fails the job on a throwing function with the step and the record attached', async () => {
    const env = new StreamEnvironment();
    env
      .fromCollection([{ id: 1 }, { id: 2 }, { id: 3 }])
      .map((r) => {
        if (r.id === 2) throw new Error('two is not allowed');
        return r;
      }, 'checker')
      .print('out');
    const err = await env.executeAndCollect().catch((e: unknown) => e);
    expect(isTributaryError(err, 'TRIB_FUNCTION_FAILED')).toBe(true);
    const te = err as { message: string; record: unknown; cause: unknown };
    expect(te.message).toContain('step "checker"');
    expect(te.message).toContain('two is not allowed');
    expect(te.record).toEqual({ id: 2 });
    expect((te.cause as Error).message).toBe('two is not allowed');
  });

  it('skips and counts records on which a function throws with onError: skip', async () => {
    const env = new StreamEnvironment();
    env
      .fromCollection([1, 2, 3, 4])
      .flatMap(
        (x) => {
          if (x % 2 === 0) throw new Error('even');
          return [x, x];
        },
        { name: 'odd-twice', onError: 'skip' },
      )
      .print('out');
    expect(values(await env.executeAndCollect(), 'out')).toEqual([1, 1, 3, 3]);
  });

  it('refuses a graph whose function steps name functions the code does not define', async () => {
    const env = new StreamEnvironment();
    env
      .fromCollection([1])
      .map((x) => x)
      .print('out');
    const { validateGraph } = await import('../connectors/validate-graph.ts');
    const { JobExecutor } = await import('../job/job-executor.ts');
    const graph = validateGraph(env.toGraph());
    expect(() => new JobExecutor(graph, { parallelism: 1 })).toThrow(
      expect.objectContaining({ code: 'TRIB_FUNCTION_MISSING' }),
    );
  });
});
