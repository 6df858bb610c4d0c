// "State as a table" (docs/runtime/kudu.md): a keyed running aggregate (orders and total per
// user, not windowed) upserted into Kudu is a table of the latest value per key that can be
// queried while the job runs. Against the real local Kudu: the job runs unbounded; the table,
// scanned while it runs, has one row per key and never more than the records read so far; after
// a draining stop it equals the aggregate of every record the source emitted.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { testKuduMasters } from '../../testing/kudu-masters.ts';
import { CollectingSink, type Emitted } from '../../testing/harness.ts';
import { validateGraph } from '../validate-graph.ts';
import { KuduClient } from './client/kudu-client.ts';

const USERS = 20;

describe('state as a table: a keyed running aggregate upserted into Kudu', () => {
  const client = new KuduClient({ masters: [testKuduMasters()] });
  const run = randomUUID().slice(0, 8);
  const name = `it_state_${run}`;
  const dirs: string[] = [];

  afterAll(async () => {
    await client.deleteTable(name).catch(() => undefined);
    await client.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  });

  async function scan(): Promise<{ user: number; orders: number; total: number }[]> {
    const table = await client.openTable(name);
    const rows: { user: number; orders: number; total: number }[] = [];
    for await (const batch of client.scan(table))
      for (const r of batch)
        rows.push({ user: Number(r['user']), orders: Number(r['orders']), total: r['total'] as number });
    return rows;
  }

  it('shows the latest value per key while the job runs, and the reference after it drains', async () => {
    const raw: Emitted[] = [];
    const g: GraphSpec = {
      sources: [
        {
          name: 'orders',
          datagen: {
            generator: 'schema',
            seed: 5,
            rate: 2_000,
            fields: { user: { type: 'int', min: 0, max: USERS - 1 }, amount: { type: 'int', min: 1, max: 100 } },
          },
        },
      ],
      steps: [
        { name: 'by-user', from: 'orders', keyBy: 'user' },
        { name: 'per-user', from: 'by-user', aggregate: { orders: 'count()', total: 'sum(double(amount))' } },
      ],
      sinks: [
        { name: 'raw', from: 'orders', console: {} },
        {
          name: 'table',
          from: 'per-user',
          kudu: {
            masters: testKuduMasters(),
            table: name,
            createTable: {
              columns: [
                { name: 'user', type: 'int64', key: true },
                { name: 'orders', type: 'int64' },
                { name: 'total', type: 'double' },
              ],
              hashBuckets: 2,
              replicas: 1,
            },
          },
        },
      ],
    };
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-kudu-state-'));
    dirs.push(stateDir);
    const job = new JobExecutor(validateGraph(g), {
      parallelism: 2,
      logger: silentLogger(),
      sinkWriter: (spec) => (spec.name === 'raw' ? new CollectingSink(raw) : undefined),
      checkpointing: { stateDir, intervalMs: 200 },
    });
    const done = job.run();
    let scans = 0;
    try {
      // Query the table while the job runs until every key has a row (the source never ends).
      for (;;) {
        const rows = await scan().catch(() => []); // the first slot may still be creating the table
        scans++;
        const readSoFar = countsOf(raw);
        expect(new Set(rows.map((r) => r.user)).size).toBe(rows.length);
        for (const r of rows) expect(r.orders).toBeLessThanOrEqual(readSoFar.get(r.user)?.orders ?? 0);
        if (rows.length === USERS) break;
      }
    } finally {
      job.stop({ drain: true });
    }
    expect((await done).state).toBe('STOPPED');
    const want = countsOf(raw);
    const got = await scan();
    expect(new Map(got.map((r) => [r.user, { orders: r.orders, total: r.total }]))).toEqual(want);
    expect(scans).toBeGreaterThan(0);
  }, 120_000);
});

function countsOf(recs: readonly Emitted[]): Map<number, { orders: number; total: number }> {
  const m = new Map<number, { orders: number; total: number }>();
  for (const { rec } of recs) {
    const r = rec as { user: number; amount: number };
    const c = m.get(r.user) ?? { orders: 0, total: 0 };
    c.orders++;
    c.total += r.amount;
    m.set(r.user, c);
  }
  return m;
}
