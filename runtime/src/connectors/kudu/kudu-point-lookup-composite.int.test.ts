// The kudu lookup on a composite primary key (region string, id int64) against the real local
// Kudu (TRIBUTARY_KUDU_MASTERS): point gets by the tuple return the table's rows (the step's
// columns in another order than the table's, mapped by name), a tuple without a row is a miss,
// a part that cannot be a value of its column is a miss without asking Kudu; a job enriches by
// both fields in `mode: get` and in `mode: copy` alike (onMissing keep and drop); columns that are
// not the whole key fail the job at start.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.ts';
import { createJobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec, KuduSourceSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { CollectingSink, type Emitted } from '../../testing/harness.ts';
import { testKuduMasters } from '../../testing/kudu-masters.ts';
import { lookupKeyOf } from '../lookup-key.ts';
import { validateGraph } from '../validate-graph.ts';
import { KuduClient } from './client/kudu-client.ts';
import type { KuduTable } from './client/table-metadata.ts';
import { KuduPointLookup } from './kudu-point-lookup.ts';
import { recordOf } from './kudu-source.ts';

const REGIONS = ['eu', 'us', 'a|b'];
const IDS = 40;

describe('kudu lookup by a composite primary key against the real Kudu', () => {
  const client = new KuduClient({ masters: [testKuduMasters()] });
  const name = `it_lookup_ck_${randomUUID().slice(0, 8)}`;
  let table: KuduTable;
  const want = new Map<string, Record<string, unknown>>();

  beforeAll(async () => {
    table = await client.createTable({
      name,
      columns: [
        { name: 'region', type: 'string', key: true },
        { name: 'id', type: 'int64', key: true },
        { name: 'title', type: 'string' },
      ],
      hashPartitions: [{ columns: ['region', 'id'], buckets: 3 }],
      replicas: 1,
    });
    // The same id in every region, each row its own title: a lookup by id alone could not tell them apart.
    const rows = REGIONS.flatMap((region) =>
      Array.from({ length: IDS }, (_, id) => ({ region, id, title: `${region}-${id}` })),
    );
    await client.upsert(table, rows);
    for await (const batch of client.scan(table))
      for (const r of batch) {
        const rec = recordOf(r);
        want.set(lookupKeyOf([rec['id'], rec['region']])!, rec);
      }
  }, 120_000);

  afterAll(async () => {
    await client.deleteTable(name).catch(() => undefined);
    await client.close();
  });

  const spec = (mode: 'get' | 'copy'): KuduSourceSpec => ({ masters: testKuduMasters(), table: name, mode });

  it("gets the table's rows by the tuple; no row and a wrong-typed part are misses, the latter not asked", async () => {
    let fetchedKeys = 0;
    const lookup = new KuduPointLookup({
      name: 'items',
      spec: spec('get'),
      columns: ['id', 'region'],
      onFetched: (n) => (fetchedKeys += n),
    });
    await lookup.open();
    try {
      const found = REGIONS.flatMap((r) => [0, 7, IDS - 1].map((id) => lookupKeyOf([id, r])!));
      const absent = [lookupKeyOf([3, 'asia'])!, lookupKeyOf([IDS + 1, 'eu'])!];
      const wrongTyped = lookupKeyOf(['x', 'eu'])!;
      const got = await lookup.fetch([...found, ...absent, wrongTyped]);
      for (const k of found) expect(got.get(k)).toEqual(want.get(k));
      expect(got.get(lookupKeyOf([7, 'a|b'])!)).toMatchObject({ region: 'a|b', title: 'a|b-7' });
      for (const k of [...absent, wrongTyped]) expect(got.get(k)).toBeNull();
      expect(fetchedKeys).toBe(found.length + absent.length);
      expect(lookup.fetchedRows).toBe(found.length);
      expect(lookup.cached(absent[0]!)).toBeNull();
      expect(lookup.cached(found[0]!)).toEqual(want.get(found[0]!));
    } finally {
      lookup.close();
    }
  }, 60_000);

  const orders = [
    { order: 1, region: 'eu', item: '7' },
    { order: 2, region: 'us', item: '7' },
    { order: 3, region: 'asia', item: '7' },
    { order: 4, region: 'eu', item: 'x' },
    { order: 5, region: 'a|b', item: '39' },
  ];

  const enriched = async (mode: 'get' | 'copy', onMissing: 'keep' | 'drop'): Promise<Record<string, unknown>[]> => {
    const g: GraphSpec = {
      sources: [
        { name: 'orders', collection: { records: orders } },
        { name: 'items', kudu: spec(mode) },
      ],
      steps: [
        {
          name: 'enriched',
          from: 'orders',
          lookup: { table: 'items', key: ['item', 'region'], column: ['id', 'region'], onMissing },
        },
      ],
      sinks: [{ name: 'out', from: 'enriched', console: {} }],
    };
    const got: Emitted[] = [];
    const job = await createJobExecutor(validateGraph(g), {
      parallelism: 1,
      logger: silentLogger(),
      sinkWriter: () => new CollectingSink(got),
    });
    expect((await job.run()).state).toBe('FINISHED');
    return got
      .map((e) => e.rec as Record<string, unknown>)
      .sort((a, b) => (a['order'] as number) - (b['order'] as number));
  };

  for (const mode of ['get', 'copy'] as const)
    it(`a job (mode: ${mode}) enriches records by both fields; misses kept or dropped`, async () => {
      expect(await enriched(mode, 'keep')).toEqual([
        { order: 1, region: 'eu', item: '7', title: 'eu-7' },
        { order: 2, region: 'us', item: '7', title: 'us-7' },
        { order: 3, region: 'asia', item: '7' },
        { order: 4, region: 'eu', item: 'x' },
        { order: 5, region: 'a|b', item: '39', title: 'a|b-39' },
      ]);
      expect((await enriched(mode, 'drop')).map((r) => r['order'])).toEqual([1, 2, 5]);
    }, 120_000);

  it('fails the job at start when the columns are not the whole primary key', async () => {
    const lookup = new KuduPointLookup({ name: 'items', spec: spec('get'), columns: ['region'] });
    const err = await lookup.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    lookup.close();
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('TRIB_KUDU_SCHEMA');
    expect(String(err)).toContain('column "region" must be the whole primary key');
    expect(String(err)).toContain('whose key is (region, id)');
  }, 60_000);
});
