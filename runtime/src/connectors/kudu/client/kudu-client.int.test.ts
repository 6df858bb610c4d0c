// Against the real local Kudu (TRIBUTARY_KUDU_MASTERS, set by the integration project's global
// setup or `eval "$(npm run -s cluster -- env)"` after `up --with kudu`): a table with every
// supported column type, hash-partitioned on a composite key, written and scanned back exactly;
// updates and deletes; and the errors a user meets (unknown table, wrong type, unknown column,
// no master at the address).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../../errors.ts';
import type { Row } from './cell-values.ts';
import { KuduClient } from './kudu-client.ts';
import type { KuduTable } from './table-metadata.ts';
import type { ScannedRow } from './tablet-scanner.ts';
import { testKuduMasters } from '../../../testing/kudu-masters.ts';

function rowFor(i: number): Row {
  return {
    id: BigInt(i) * 7919n - 1_000_000n,
    name: `key-${i}${i % 5 === 0 ? '\u0000nul' : ''}-ü`,
    i8: i % 7 === 0 ? null : (i % 256) - 128,
    i16: (i * 31) % 32768,
    i32: i % 2 === 0 ? 0 - i * 1000 : 2147483647 - i,
    i64: i % 3 === 0 ? null : -(1n << 62n) + BigInt(i),
    f32: Math.fround(i / 7),
    f64: i / 3 + 1e-9,
    flag: i % 2 === 0,
    text: i % 11 === 0 ? null : 'x'.repeat(i % 50),
    blob: i % 4 === 0 ? null : Uint8Array.from([i & 0xff, 0, 255, (i >> 8) & 0xff]),
    at: 1_700_000_000_000_000n + BigInt(i) * 1_000_003n,
    day: i - 500,
  };
}

function byKey(rows: ScannedRow[]): ScannedRow[] {
  return [...rows].sort((a, b) =>
    a.id! < b.id! ? -1 : a.id! > b.id! ? 1 : String(a.name).localeCompare(String(b.name)),
  );
}

async function scanAll(client: KuduClient, table: KuduTable, columns?: string[]): Promise<ScannedRow[]> {
  const out: ScannedRow[] = [];
  // A small batch size makes every tablet need continuation calls.
  for await (const batch of client.scan(table, { batchSizeBytes: 4096, ...(columns ? { columns } : {}) }))
    out.push(...batch);
  return out;
}

describe('Kudu client against the real Kudu', () => {
  const client = new KuduClient({ masters: testKuduMasters().split(','), operationTimeoutMs: 60_000 });
  const name = `it_types_${randomUUID().slice(0, 8)}`;
  let table: KuduTable;
  const n = 1000;

  beforeAll(async () => {
    table = await client.createTable({
      name,
      columns: [
        { name: 'id', type: 'int64', key: true },
        { name: 'name', type: 'string', key: true },
        { name: 'i8', type: 'int8', nullable: true },
        { name: 'i16', type: 'int16' },
        { name: 'i32', type: 'int32' },
        { name: 'i64', type: 'int64', nullable: true },
        { name: 'f32', type: 'float' },
        { name: 'f64', type: 'double' },
        { name: 'flag', type: 'bool' },
        { name: 'text', type: 'string', nullable: true },
        { name: 'blob', type: 'binary', nullable: true },
        { name: 'at', type: 'unixtime_micros' },
        { name: 'day', type: 'date' },
      ],
      hashPartitions: [{ columns: ['id', 'name'], buckets: 4 }],
      rangeColumns: ['id'],
    });
  }, 120_000);

  afterAll(async () => {
    await client.deleteTable(name).catch(() => undefined);
    await client.close();
  });

  it('upserts rows of every supported type and scans them back exactly', async () => {
    const rows = Array.from({ length: n }, (_, i) => rowFor(i));
    for (let i = 0; i < n; i += 250) await client.upsert(table, rows.slice(i, i + 250));
    const back = byKey(await scanAll(client, table));
    expect(back).toHaveLength(n);
    expect(back).toEqual(byKey(rows.map((r) => ({ ...r }) as ScannedRow)));
  }, 120_000);

  it('updates by upsert, deletes by key, and projects columns', async () => {
    const changed: Row[] = Array.from({ length: 100 }, (_, i) => ({ ...rowFor(i), text: `changed-${i}`, i8: null }));
    await client.upsert(table, changed);
    await client.write(
      table,
      Array.from({ length: 50 }, (_, i) => ({
        kind: 'delete' as const,
        row: { id: rowFor(900 + i).id, name: rowFor(900 + i).name },
      })),
    );
    const back = byKey(await scanAll(client, table, ['name', 'id', 'text']));
    const expected = Array.from({ length: n - 50 }, (_, i) => {
      const r = i < 100 ? changed[i]! : rowFor(i < 900 ? i : i + 50);
      return { name: r.name, id: r.id, text: r.text } as ScannedRow;
    });
    expect(back).toEqual(byKey(expected));
    expect(Object.keys(back[0]!)).toEqual(['name', 'id', 'text']);
  }, 120_000);

  it('inserts, refuses a duplicate insert row by row, ignores it with insertIgnore, updates', async () => {
    const fresh: Row = { ...rowFor(5000), text: 'inserted' };
    await client.write(table, [{ kind: 'insert', row: fresh }]);
    const dup = await client.write(table, [{ kind: 'insert', row: fresh }]).catch((e: unknown) => e);
    expect((dup as TributaryError).code).toBe('TRIB_KUDU_ROW_ERRORS');
    expect((dup as TributaryError).message).toMatch(/1 of 1 rows rejected.*ALREADY_PRESENT/);
    await client.write(table, [{ kind: 'insertIgnore', row: { ...fresh, text: 'ignored' } }]);
    await client.write(table, [{ kind: 'update', row: { id: fresh.id, name: fresh.name, i16: 42 } }]);
    const back = (await scanAll(client, table)).filter((r) => r.id === fresh.id && r.name === fresh.name);
    expect(back).toEqual([{ ...fresh, i16: 42 }]);
  });

  it('names an unknown table', async () => {
    const missing = `it_missing_${randomUUID().slice(0, 8)}`;
    const err = await client.openTable(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('TRIB_KUDU_TABLE_NOT_FOUND');
    expect((err as TributaryError).message).toContain(missing);
  });

  it('names the column of a value of the wrong type, and an unknown column', async () => {
    const wrong = await client.upsert(table, [{ ...rowFor(1), i32: 'seven' }]).catch((e: unknown) => e);
    expect((wrong as TributaryError).code).toBe('TRIB_KUDU_SCHEMA');
    expect((wrong as TributaryError).message).toMatch(/column "i32" \(int32\)/);
    const unknown = await client.upsert(table, [{ ...rowFor(1), nope: 1 }]).catch((e: unknown) => e);
    expect((unknown as TributaryError).code).toBe('TRIB_KUDU_SCHEMA');
    expect((unknown as TributaryError).message).toContain('no column "nope"');
  });

  it('says no master is reachable at an address nobody listens on', async () => {
    // The cluster's closed port for Kudu's cloud probes: on loopback, never listened on.
    const offset = Number(process.env.TRIBUTARY_CLUSTER_PORT_OFFSET ?? 0);
    const address = `127.0.0.1:${17055 + offset}`;
    const lonely = new KuduClient({ masters: [address], operationTimeoutMs: 2_000, connectTimeoutMs: 500 });
    try {
      const err = await lonely.openTable(name).catch((e: unknown) => e);
      expect((err as TributaryError).code).toBe('TRIB_KUDU_CONNECT');
      expect((err as TributaryError).message).toContain(address);
    } finally {
      await lonely.close();
    }
  });
});
