// Scan predicates against the real local Kudu: for every supported column type, a range (lower
// inclusive, upper exclusive), each bound alone, IS NULL and IS NOT NULL return exactly the rows
// the same condition selects from what was written; predicates on several columns are ANDed.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CellValue, Row } from './cell-values.ts';
import { KuduClient } from './kudu-client.ts';
import type { ScanPredicate } from './scan-predicates.ts';
import type { KuduTable } from './table-metadata.ts';
import { testKuduMasters } from '../../../testing/kudu-masters.ts';

function rowFor(i: number): Row {
  return {
    id: BigInt(i) * 7919n - 1_000_000n,
    i8: i % 7 === 0 ? null : (i % 256) - 128,
    i16: (i * 31) % 32768,
    i32: i % 2 === 0 ? 0 - i * 1000 : 2147483647 - i,
    i64: i % 3 === 0 ? null : -(1n << 62n) + BigInt(i),
    f32: Math.fround(i / 7 - 20),
    f64: i / 3 - 50 + 1e-9,
    flag: i % 3 === 0,
    text: i % 11 === 0 ? null : `t-${(i * 37) % 101}-ü`,
    blob: i % 4 === 0 ? null : Uint8Array.from([(i * 13) & 0xff, 0, 255]),
    at: 1_700_000_000_000_000n + BigInt(i) * 1_000_003n,
    day: i - 150,
  };
}

/** Kudu's order for a type: numbers and bigints numerically, strings and binaries by bytes. */
function compare(a: CellValue, b: CellValue): number {
  if (typeof a === 'string' || a instanceof Uint8Array)
    return Buffer.compare(Buffer.from(a as string), Buffer.from(b as string));
  if (typeof a === 'boolean') return Number(a) - Number(b);
  const y = b as number | bigint;
  return a < y ? -1 : a > y ? 1 : 0;
}

function holds(row: Row, p: ScanPredicate): boolean {
  const v = row[p.column];
  switch (p.op) {
    case 'isNull':
      return v === null;
    case 'isNotNull':
      return v !== null;
    case 'in':
      return v !== null && v !== undefined && p.values.some((x) => compare(v, x) === 0);
    default: {
      if (v === null || v === undefined) return false;
      const c = compare(v, p.value);
      return p.op === '=' ? c === 0 : p.op === '>=' ? c >= 0 : c < 0;
    }
  }
}

describe('Kudu scan predicates against the real Kudu', () => {
  const client = new KuduClient({ masters: testKuduMasters().split(','), operationTimeoutMs: 60_000 });
  const name = `it_pred_${randomUUID().slice(0, 8)}`;
  const rows = Array.from({ length: 300 }, (_, i) => rowFor(i));
  let table: KuduTable;

  beforeAll(async () => {
    table = await client.createTable({
      name,
      columns: [
        { name: 'id', type: 'int64', key: true },
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
      hashPartitions: [{ columns: ['id'], buckets: 3 }],
    });
    await client.upsert(table, rows);
  }, 120_000);

  afterAll(async () => {
    await client.deleteTable(name).catch(() => undefined);
    await client.close();
  });

  async function ids(predicates: ScanPredicate[]): Promise<string[]> {
    const out: string[] = [];
    for await (const batch of client.scan(table, { columns: ['id'], predicates, batchSizeBytes: 1024 }))
      for (const r of batch) out.push(String(r.id));
    return out.sort();
  }
  const expected = (predicates: ScanPredicate[]) =>
    rows
      .filter((r) => predicates.every((p) => holds(r, p)))
      .map((r) => String(r.id))
      .sort();

  // [column, lower, upper]: bounds inside the written values, so each side excludes some rows.
  const ranges: [string, CellValue, CellValue][] = [
    ['id', -900_000n, 500_000n],
    ['i8', -100, 20],
    ['i16', 1000, 5000],
    ['i32', -100_000, 2147483600],
    ['i64', -(1n << 62n) + 40n, -(1n << 62n) + 200n],
    ['f32', Math.fround(-10.5), Math.fround(5.25)],
    ['f64', -20.5, 30],
    ['flag', false, true],
    ['text', 't-3', 't-7'],
    ['blob', Uint8Array.of(40), Uint8Array.of(200, 0)],
    ['at', 1_700_000_000_000_000n + 50n * 1_000_003n, 1_700_000_000_000_000n + 120n * 1_000_003n],
    ['day', -100, 77],
  ];

  it.each(ranges)(
    'range on %s: lower inclusive, upper exclusive, each bound alone',
    async (column, lo, hi) => {
      const sizes: number[] = [];
      for (const ps of [
        [
          { column, op: '>=', value: lo },
          { column, op: '<', value: hi },
        ],
        [{ column, op: '>=', value: lo }],
        [{ column, op: '<', value: hi }],
      ] as ScanPredicate[][]) {
        const want = expected(ps);
        sizes.push(want.length);
        expect(await ids(ps)).toEqual(want);
      }
      // The bounds select something and leave something out (a bool's lower bound false alone is everything).
      expect(sizes.some((n) => n > 0 && n < rows.length)).toBe(true);
      // A bound equal to a written value: that row is in with >=, out with <.
      const v = rows.find((r) => r[column] !== null)![column] as CellValue;
      expect(await ids([{ column, op: '>=', value: v }])).toEqual(expected([{ column, op: '>=', value: v }]));
      expect(await ids([{ column, op: '<', value: v }])).toEqual(expected([{ column, op: '<', value: v }]));
    },
    60_000,
  );

  it.each(['i8', 'i64', 'text', 'blob'])(
    'IS NULL and IS NOT NULL on %s',
    async (column) => {
      const isNull = expected([{ column, op: 'isNull' }]);
      expect(isNull.length).toBeGreaterThan(0);
      expect(await ids([{ column, op: 'isNull' }])).toEqual(isNull);
      expect(await ids([{ column, op: 'isNotNull' }])).toEqual(expected([{ column, op: 'isNotNull' }]));
    },
    60_000,
  );

  it('ANDs predicates on several columns, with equals and in', async () => {
    const ps: ScanPredicate[] = [
      { column: 'text', op: 'isNotNull' },
      { column: 'day', op: '>=', value: -120 },
      { column: 'i64', op: 'isNull' },
      { column: 'flag', op: 'in', values: [true] },
      { column: 'i16', op: '<', value: 8000 },
    ];
    const want = expected(ps);
    expect(want.length).toBeGreaterThan(0);
    expect(await ids(ps)).toEqual(want);
  }, 60_000);
});
