import { describe, expect, it } from 'vitest';
import { StreamEnvironment } from '../api.ts';
import { isTributaryError } from '../errors.ts';
import { validateGraph } from '../connectors/validate-graph.ts';
import { CollectingSink, sortedJson, type Emitted } from '../testing/harness.ts';
import { JobExecutor } from './job-executor.ts';

const clicks = Array.from({ length: 2000 }, (_, i) => ({
  user: `u${(i * 7) % 23}`,
  country: ['de', 'fr', 'us'][i % 3],
  price: (i % 10) * 1.5,
  ts: 1_000_000 + i * 37,
}));

function clicksPipeline(env: StreamEnvironment): void {
  env
    .fromCollection(clicks, { name: 'clicks', timestamp: { field: 'ts', format: 'millis', maxOutOfOrderness: '1s' } })
    .filter('price > 0.0')
    .map({ user: 'user', country: 'country', cents: 'price * 100' })
    .keyBy('country')
    .window({ tumbling: { size: '10s' } })
    .aggregate({ n: 'count()', users: 'countDistinct(user)', cents: 'sum(cents)' }, 'per-country')
    .toConsole('out');
}

describe('JobExecutor', () => {
  it('gives the same windowed results at parallelism 1, 2 and 3', async () => {
    const results: string[][] = [];
    for (const p of [1, 2, 3]) {
      const env = new StreamEnvironment();
      clicksPipeline(env);
      const out = await env.executeAndCollect({ parallelism: p });
      results.push(sortedJson((out.get('out') as Emitted[]).map((e) => e.rec)));
    }
    expect(results[0]?.length).toBeGreaterThan(10);
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    // Every record with price > 0 is counted exactly once.
    const total = (results[0] as string[]).map((s) => JSON.parse(s) as { n: number }).reduce((a, r) => a + r.n, 0);
    expect(total).toBe(clicks.filter((c) => c.price > 0).length);
  });

  it('applies backpressure with tiny channels and still delivers everything', async () => {
    const env = new StreamEnvironment();
    clicksPipeline(env);
    const graph = validateGraph(env.toGraph());
    const got: Emitted[] = [];
    const job = new JobExecutor(graph, {
      parallelism: 3,
      channelCapacity: 1,
      batchSize: 7,
      sinkWriter: () => new CollectingSink(got),
    });
    await job.run();
    const env2 = new StreamEnvironment();
    clicksPipeline(env2);
    const ref = await env2.executeAndCollect({ parallelism: 1 });
    expect(sortedJson(got.map((e) => e.rec))).toEqual(sortedJson((ref.get('out') as Emitted[]).map((e) => e.rec)));
  });

  it('runs union, interval join and dedupe across slots', async () => {
    const env = new StreamEnvironment();
    const ts = { field: 'ts', format: 'millis' as const, maxOutOfOrderness: '0s' };
    const views = env.fromCollection(
      Array.from({ length: 100 }, (_, i) => ({ user: `u${i % 10}`, page: `p${i % 3}`, ts: i * 100 })),
      { name: 'views', timestamp: ts },
    );
    const moreViews = env.fromCollection([{ user: 'u1', page: 'extra', ts: 50 }], { name: 'more', timestamp: ts });
    const orders = env.fromCollection(
      Array.from({ length: 20 }, (_, i) => ({ buyer: `u${i % 10}`, amount: i, ts: i * 500 + 20 })),
      { name: 'orders', timestamp: ts },
    );
    const allViews = views.union([moreViews], 'all-views').keyBy('user', 'views-by-user');
    allViews
      .intervalJoin(
        orders.keyBy('buyer', 'orders-by-buyer'),
        {
          lowerBound: '0s',
          upperBound: '150ms',
          select: { user: 'left.user', page: 'left.page', amount: 'right.amount' },
        },
        'joined',
      )
      .toConsole('joined-out');
    allViews.dedupe('1h', 'first-view').toConsole('first-out');
    const r1 = await env.executeAndCollect({ parallelism: 1 });
    const r3 = await env.executeAndCollect({ parallelism: 3 });
    const joined = sortedJson((r1.get('joined-out') as Emitted[]).map((e) => e.rec));
    expect(joined.length).toBeGreaterThan(0);
    expect(sortedJson((r3.get('joined-out') as Emitted[]).map((e) => e.rec))).toEqual(joined);
    // Expected by brute force.
    const vs = [
      ...Array.from({ length: 100 }, (_, i) => ({ user: `u${i % 10}`, page: `p${i % 3}`, ts: i * 100 })),
      { user: 'u1', page: 'extra', ts: 50 },
    ];
    const os = Array.from({ length: 20 }, (_, i) => ({ buyer: `u${i % 10}`, amount: i, ts: i * 500 + 20 }));
    const brute: string[] = [];
    for (const v of vs)
      for (const o of os)
        if (o.buyer === v.user && o.ts >= v.ts && o.ts <= v.ts + 150)
          brute.push(JSON.stringify({ user: v.user, page: v.page, amount: o.amount }));
    expect(joined).toEqual(brute.sort());
    expect((r3.get('first-out') as Emitted[]).map((e) => e.rec['user']).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `u${i}`).sort(),
    );
  });

  it('hands keyed state over from 2 slots to 3 slots', async () => {
    const mk = (records: Record<string, unknown>[]): StreamEnvironment => {
      const env = new StreamEnvironment();
      env
        .fromCollection(records, { name: 'src' })
        .keyBy('k', 'by-k')
        .aggregate({ n: 'count()', s: 'sum(v)' }, 'running')
        .toConsole('out');
      return env;
    };
    const recs = Array.from({ length: 300 }, (_, i) => ({ k: `k${i % 17}`, v: i }));
    const first = validateGraph(mk(recs.slice(0, 150)).toGraph());
    const job1 = new JobExecutor(first, { parallelism: 2, maxParallelism: 64, sinkWriter: () => new CollectingSink() });
    await job1.run();
    const snaps = job1.snapshotState();
    expect(snaps.get('running')).toHaveLength(2);
    const got: Emitted[] = [];
    const job2 = new JobExecutor(validateGraph(mk(recs.slice(150)).toGraph()), {
      parallelism: 3,
      maxParallelism: 64,
      restore: snaps,
      sinkWriter: () => new CollectingSink(got),
    });
    await job2.run();
    const last = new Map<string, unknown>();
    for (const e of got) last.set(String(e.rec['k']), e.rec);
    for (let k = 0; k < 17; k++) {
      const mine = recs.filter((r) => r.k === `k${k}`);
      expect(last.get(`k${k}`)).toEqual({ k: `k${k}`, n: mine.length, s: mine.reduce((a, r) => a + r.v, 0) });
    }
  });

  it('refuses delivery: exactly-once without checkpointing instead of writing at-least-once', () => {
    const g = validateGraph({
      sources: [{ name: 'd', collection: { records: [{ a: 1 }] } }],
      sinks: [{ name: 'k', from: 'd', kafka: { brokers: '127.0.0.1:1', topic: 't', delivery: 'exactly-once' } }],
    });
    expect(() => new JobExecutor(g, { parallelism: 1 })).toThrow(
      /graph\.sinks\[0\]\.kafka\.delivery: exactly-once needs checkpoints/,
    );
    expect(
      () => new JobExecutor(g, { parallelism: 1, checkpointing: { stateDir: '/nonexistent-unused' } }),
    ).not.toThrow();
  });

  it('refuses to start a druid sink whose datasourceRef is not resolved, with a clear error', () => {
    const g = validateGraph({
      sources: [{ name: 'd', collection: { records: [{ a: 1 }] } }],
      sinks: [{ name: 'c', from: 'd', druid: { datasourceRef: 'clicks' } }],
    });
    try {
      new JobExecutor(g, { parallelism: 1 });
      expect.unreachable();
    } catch (e) {
      expect(isTributaryError(e, 'TRIB_CONNECTOR_UNSUPPORTED')).toBe(true);
      expect((e as Error).message).toContain('graph.sinks[0].druid.kafka');
    }
  });

  it('refuses bad parallelism, maxParallelism and slot lists with TRIB_JOB_CONFIG', () => {
    const g = validateGraph({
      sources: [{ name: 'd', collection: { records: [{ a: 1 }] } }],
      sinks: [{ name: 'c', from: 'd', console: {} }],
    });
    const refused = (opts: ConstructorParameters<typeof JobExecutor>[1], message: string): void => {
      expect(() => new JobExecutor(g, opts)).toThrow(message);
      try {
        new JobExecutor(g, opts);
      } catch (e) {
        expect(isTributaryError(e, 'TRIB_JOB_CONFIG')).toBe(true);
      }
    };
    refused({ parallelism: 0 }, 'parallelism must be a positive integer, got 0');
    refused({ parallelism: 1.5 }, 'parallelism must be a positive integer, got 1.5');
    refused({ parallelism: 4, maxParallelism: 2 }, 'maxParallelism 2 is below parallelism 4');
    refused({ parallelism: 2, slots: [2] }, 'slot 2 is outside [0, 2)');
    refused({ parallelism: 2, slots: [0, -1] }, 'slot -1 is outside [0, 2)');
  });

  it('stops an unbounded job cleanly on request', async () => {
    const g = validateGraph({
      sources: [{ name: 'gen', datagen: { generator: 'nexmark', rate: 5000 } }],
      sinks: [{ name: 'c', from: 'gen', console: {} }],
    });
    const got: Emitted[] = [];
    const job = new JobExecutor(g, { parallelism: 2, sinkWriter: () => new CollectingSink(got) });
    setTimeout(() => job.stop(), 300);
    const r = await job.run();
    expect(r.state).toBe('STOPPED');
    expect(got.length).toBeGreaterThan(100);
    expect(got.length).toBe(r.recordsOut);
  });
});
