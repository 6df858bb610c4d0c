// The kudu lookup in `mode: get` against the real local Kudu (TRIBUTARY_KUDU_MASTERS): point gets
// return the table's rows (misses as null, cached too), the cache never holds more than its bound
// and asks Kudu again for what it evicted; a running, checkpointed job enriches records by key
// and sees a row changed in Kudu once the cached entry's TTL has passed; a lookup column that is
// not the table's key fails the job at start.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.ts';
import { JobExecutor } from '../../job/job-executor.ts';
import { JobMetrics } from '../../telemetry/metrics.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import type { Batch } from '../../core/batch.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { testKuduMasters } from '../../testing/kudu-masters.ts';
import type { SinkWriter } from '../api.ts';
import { validateGraph } from '../validate-graph.ts';
import { KuduClient } from './client/kudu-client.ts';
import type { KuduTable } from './client/table-metadata.ts';
import { kuduTableLoader } from './kudu-lookup-loader.ts';
import { KuduPointLookup } from './kudu-point-lookup.ts';
import { recordOf } from './kudu-source.ts';

const ROWS = 2_000;

/** A sink that keeps what it is given and wakes a waiter when a record it waits for arrives. */
/** Every slot's sink writes here; each record is kept with the slot that wrote it. */
class WatchingSink {
  readonly records: { slot: number; r: Record<string, unknown> }[] = [];
  private waiters: { pred: (r: Record<string, unknown>) => boolean; resolve: () => void }[] = [];

  /** The sink writer of slot `slot`. */
  forSlot(slot: number): SinkWriter {
    return {
      backpressured: false,
      open: () => Promise.resolve(),
      write: (b: Batch) => this.write(slot, b),
      close: () => Promise.resolve(),
    };
  }

  private write(slot: number, b: Batch): void {
    for (let i = 0; i < b.n; i++) {
      const r = b.recs[i] as Record<string, unknown>;
      this.records.push({ slot, r });
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(r)) return true;
        w.resolve();
        return false;
      });
    }
  }

  /** Resolves at the first record (from now on) for which `pred` holds. */
  next(pred: (r: Record<string, unknown>) => boolean): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }
}

describe('kudu lookup by point gets against the real Kudu', () => {
  const client = new KuduClient({ masters: [testKuduMasters()] });
  const run = randomUUID().slice(0, 8);
  const name = `it_lookup_${run}`;
  let table: KuduTable;
  const dirs: string[] = [];

  beforeAll(async () => {
    table = await client.createTable({
      name,
      columns: [
        { name: 'id', type: 'int64', key: true },
        { name: 'title', type: 'string' },
        { name: 'price', type: 'double', nullable: true },
      ],
      hashPartitions: [{ columns: ['id'], buckets: 3 }],
      replicas: 1,
    });
    const rows = Array.from({ length: ROWS }, (_, id) => ({
      id,
      title: `t${id}`,
      price: id % 5 === 0 ? null : id / 4,
    }));
    for (let i = 0; i < rows.length; i += 500) await client.upsert(table, rows.slice(i, i + 500));
  }, 120_000);

  afterAll(async () => {
    await client.deleteTable(name).catch(() => undefined);
    await client.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  });

  it("fetches the table's rows by key, misses as null, and holds at most maxEntries", async () => {
    let fetchedKeys = 0;
    let largest = 0;
    const lookup = new KuduPointLookup({
      name: 'items',
      spec: { masters: testKuduMasters(), table: name, columns: ['id', 'title', 'price'], maxEntries: 50, ttl: '1h' },
      columns: ['id'],
      onFetched: (n) => (fetchedKeys += n),
      onCacheSize: (n) => (largest = Math.max(largest, n)),
    });
    await lookup.open();
    try {
      const want = new Map<string, Record<string, unknown>>();
      for await (const batch of client.scan(table)) for (const r of batch) want.set(String(r['id']), recordOf(r));
      const keys = [...Array.from({ length: 300 }, (_, i) => String(i * 6)), '-1', String(ROWS + 5), 'abc'];
      const got = await lookup.fetch(keys);
      expect(got.size).toBe(keys.length);
      for (const k of keys) expect(got.get(k)).toEqual(want.get(k) ?? null);
      // 'abc' is no int64: answered without asking Kudu.
      expect(fetchedKeys).toBe(keys.length - 1);
      expect(lookup.fetchedRows).toBe(300);
      // The bound held throughout; the last keys stored are cached (the miss too), the first evicted.
      expect(largest).toBeLessThanOrEqual(50);
      expect(lookup.cache.size).toBe(50);
      expect(lookup.cached(String(ROWS + 5))).toBeNull();
      expect(lookup.cached(String(299 * 6))).toEqual(want.get(String(299 * 6)));
      expect(lookup.cached('0')).toBeUndefined();
      expect((await lookup.fetch(['0'])).get('0')).toEqual(want.get('0'));
      expect(fetchedKeys).toBe(keys.length);
    } finally {
      lookup.close();
    }
  }, 60_000);

  it('a checkpointed job enriches by key, and sees a row changed in Kudu after the ttl', async () => {
    const sink = new WatchingSink();
    const g: GraphSpec = {
      sources: [
        {
          name: 'orders',
          datagen: {
            generator: 'schema',
            rate: 400,
            fields: { order: { type: 'sequence' }, item: { type: 'int', min: 0, max: 9 } },
          },
        },
        {
          name: 'items',
          kudu: {
            masters: testKuduMasters(),
            table: name,
            columns: ['id', 'title'],
            mode: 'get',
            maxEntries: 4,
            ttl: '300ms',
          },
        },
      ],
      steps: [{ name: 'enriched', from: 'orders', lookup: { table: 'items', key: 'item', column: 'id' } }],
      sinks: [{ name: 'out', from: 'enriched', console: {} }],
    };
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-kudu-lookup-'));
    dirs.push(stateDir);
    const metrics = new JobMetrics();
    const job = new JobExecutor(validateGraph(g), {
      parallelism: 2,
      logger: silentLogger(),
      metrics,
      sinkWriter: (_spec, slot) => sink.forSlot(slot),
      checkpointing: { stateDir, intervalMs: 50 },
    });
    const done = job.run();
    const completed = async () =>
      (await metrics.checkpoints.get()).values.find((v) => v.labels['result'] === 'completed')?.value ?? 0;
    try {
      await sink.next((r) => r['item'] === 3 && r['title'] === 't3');
      await client.upsert(table, [{ id: 3, title: 'changed' }]);
      await sink.next((r) => r['item'] === 3 && r['title'] === 'changed');
      // Checkpoints complete while records wait on fetches (a barrier waits behind them).
      const before = await completed();
      await sink.next(() => true);
      while ((await completed()) <= before) await sink.next(() => true);
    } finally {
      job.stop();
    }
    expect((await done).state).toBe('STOPPED');
    // Every record carries its row's title; item 3 in each slot the old one, then only the new
    // one (each slot has its own cache: one slot may still serve the old title for up to the
    // ttl after another has fetched the new one).
    const seenChange = new Set<number>();
    for (const { slot, r } of sink.records) {
      const item = r['item'] as number;
      if (item !== 3) expect(r['title']).toBe(`t${item}`);
      else if (r['title'] === 'changed') seenChange.add(slot);
      else expect([slot, r['title'], seenChange.has(slot)]).toEqual([slot, 't3', false]);
    }
    expect(seenChange.size).toBeGreaterThan(0);
    // Each slot's cache stayed within maxEntries (4) while 10 items were looked up, so keys were
    // fetched again and again (evicted or expired).
    const entries = (await metrics.registry.getSingleMetric('tributary_lookup_cache_entries')?.get())?.values ?? [];
    expect(entries.length).toBe(2);
    for (const e of entries) expect(e.value).toBeLessThanOrEqual(4);
    const fetched = (await metrics.registry.getSingleMetric('tributary_lookup_fetched_keys_total')?.get())?.values;
    expect(fetched?.[0]?.value).toBeGreaterThan(10);
    await client.upsert(table, [{ id: 3, title: 't3' }]);
  }, 120_000);

  it('applies predicates in mode get and in the copy: a row failing them is a miss', async () => {
    const spec = {
      masters: testKuduMasters(),
      table: name,
      predicates: [
        { column: 'price', op: 'isNotNull' as const },
        { column: 'id', op: '<' as const, value: 100 },
      ],
    };
    const lookup = new KuduPointLookup({ name: 'items', spec: { ...spec, mode: 'get' }, columns: ['id'] });
    await lookup.open();
    try {
      const got = await lookup.fetch(['3', '5', '150']);
      // 3: a row that passes; 5: price is null; 150: id beyond the upper bound.
      expect(got.get('3')).toMatchObject({ id: 3, price: 0.75 });
      expect(got.get('5')).toBeNull();
      expect(got.get('150')).toBeNull();
    } finally {
      lookup.close();
    }
    const copy = await kuduTableLoader('items', spec)();
    expect(copy.map((r) => r['id']).sort((a, b) => (a as number) - (b as number))).toEqual(
      Array.from({ length: 100 }, (_, id) => id).filter((id) => id % 5 !== 0),
    );
  }, 60_000);

  it('fails the job at start when the lookup column is not the primary key', async () => {
    const g: GraphSpec = {
      sources: [
        { name: 'orders', collection: { records: [{ title: 't1' }] } },
        { name: 'items', kudu: { masters: testKuduMasters(), table: name, mode: 'get' } },
      ],
      steps: [{ name: 'enriched', from: 'orders', lookup: { table: 'items', key: 'title', column: 'title' } }],
      sinks: [{ name: 'out', from: 'enriched', console: {} }],
    };
    const err = await new JobExecutor(validateGraph(g), { parallelism: 1, logger: silentLogger() }).run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(err)).toContain('column "title" must be the whole primary key');
    expect(JSON.stringify(errorCodes(err))).toContain('TRIB_KUDU_SCHEMA');
  }, 60_000);
});

function errorCodes(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err; e instanceof Error; e = e.cause) if (e instanceof TributaryError) out.push(e.code);
  return out;
}
