// Against the real local Kudu: the sink's createTable with explicit range partitions (three
// ranges over the key's int64 column, one of them split) beside hash buckets. The master's own
// description of the table (`kudu table describe`) shows exactly those ranges, the client's
// tablet locations one tablet per range and bucket, rows in every range are written and read
// back, and a row outside every range fails naming its key.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.ts';
import type { KuduCreateTableSpec } from '../../graph/spec.ts';
import { testKuduMasters } from '../../testing/kudu-masters.ts';
import { KuduClient } from './client/kudu-client.ts';
import type { KuduTable } from './client/table-metadata.ts';
import { openOrCreateTable } from './kudu-table-setup.ts';

const run = promisify(execFile);

describe('kudu sink createTable with range partitions', () => {
  const masters = testKuduMasters();
  const client = new KuduClient({ masters: masters.split(','), operationTimeoutMs: 60_000 });
  const name = `it_ranges_${randomUUID().slice(0, 8)}`;
  const create: KuduCreateTableSpec = {
    columns: [
      { name: 'id', type: 'int64', key: true },
      { name: 'region', type: 'string', key: true },
      { name: 'v', type: 'int32', nullable: true },
    ],
    hashBuckets: 2,
    hashColumns: ['region'],
    replicas: 1,
    rangePartition: {
      columns: ['id'],
      // Given out of order: the ranges are what the bounds say, not where they are listed.
      ranges: [
        { lower: { id: '1000' }, upper: { id: 2000 } },
        { upper: { id: 0 } },
        { lower: { id: 0 }, upper: { id: 1000 } },
      ],
      splitRows: [{ id: 500 }],
    },
  };
  let table: KuduTable;

  beforeAll(async () => {
    table = await openOrCreateTable(client, name, create, 'graph.sinks[0].kudu');
  }, 90_000);

  afterAll(async () => {
    await client.deleteTable(name).catch(() => undefined);
    await client.close();
  });

  it('the master holds exactly the given ranges, split at the split row; one tablet per range and hash bucket', async () => {
    const home = process.env['TRIBUTARY_KUDU_HOME'];
    if (!home) throw new Error('TRIBUTARY_KUDU_HOME is not set: eval the local cluster env');
    const { stdout } = await run(join(home, 'bin', 'kudu'), ['table', 'describe', masters, name], {
      env: { ...process.env, LD_LIBRARY_PATH: join(home, 'lib'), SASL_PATH: join(home, 'lib', 'sasl2') },
    });
    const ranges = [...stdout.matchAll(/PARTITION [^\n,]*/g)].map((m) => m[0].trim());
    expect(ranges).toEqual([
      'PARTITION VALUES < 0',
      'PARTITION 0 <= VALUES < 500',
      'PARTITION 500 <= VALUES < 1000',
      'PARTITION 1000 <= VALUES < 2000',
    ]);
    expect(stdout).toMatch(/HASH \(region\) PARTITIONS 2/);
    expect(await client.tabletIds(table)).toHaveLength(4 * 2);
  });

  it('rows in every range are written and read back; a row outside every range fails naming it', async () => {
    const ids = [-5_000_000_000n, -1n, 0n, 499n, 500n, 999n, 1000n, 1999n];
    const rows = ids.flatMap((id) => ['eu', 'us'].map((region) => ({ id, region, v: Number(id % 1000n) })));
    await client.upsert(table, rows);
    const read: Record<string, unknown>[] = [];
    for await (const batch of client.scan(table)) read.push(...batch);
    const order = (a: Record<string, unknown>, b: Record<string, unknown>): number =>
      a['id'] === b['id'] ? String(a['region']).localeCompare(String(b['region'])) : a['id']! < b['id']! ? -1 : 1;
    expect(read.sort(order)).toEqual(rows.sort(order));

    const err = await client
      .upsert(table, [
        { id: 5n, region: 'eu', v: 1 },
        { id: 2000n, region: 'us', v: 2 },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('TRIB_KUDU_ROW_ERRORS');
    expect((err as TributaryError).message).toContain('row 1 (id="2000", region="us") falls in no range partition');
  });

  it('an existing table with those ranges is opened, not created again', async () => {
    expect((await openOrCreateTable(client, name, create, 'graph.sinks[0].kudu')).id).toEqual(table.id);
  });
});
