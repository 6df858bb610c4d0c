// Decimal and varchar columns against the real local Kudu (TRIBUTARY_KUDU_MASTERS, and
// TRIBUTARY_KUDU_HOME for Kudu's own CLI): a table keyed by a decimal128 (hash-partitioned on
// it, so rows are routed by its key encoding) with decimal32/64/128 and varchar columns, written
// by the client and read back by scans, point gets and predicates; a table the kudu sink creates
// from its createTable spec, read back by the kudu source; every value checked against
// `kudu table scan` (the C++ client's unscaled integers); and the refusals: a value out of
// precision or scale, a varchar over its length, a spec whose decimal differs from the table's.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../errors.ts';
import { createJobExecutor } from '../../job/job-executor.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { CollectingSink, type Emitted } from '../../testing/harness.ts';
import { testKuduMasters } from '../../testing/kudu-masters.ts';
import { validateGraph } from '../validate-graph.ts';
import type { Row } from './client/cell-values.ts';
import { KuduClient } from './client/kudu-client.ts';
import { Schema } from './client/schema.ts';
import type { KuduTable } from './client/table-metadata.ts';
import type { ScannedRow } from './client/tablet-scanner.ts';

const max38 = `${'9'.repeat(28)}.${'9'.repeat(10)}`;

/** Row i: edges of each precision first, then values of both signs. */
function rowFor(i: number): Row {
  const edges: Row[] = [
    { k: max38, d9: '9999999.99', d18: '99999999999999.9999', d38: '9'.repeat(38), v: 'abcde' },
    { k: `-${max38}`, d9: '-9999999.99', d18: '-99999999999999.9999', d38: `-${'9'.repeat(38)}`, v: '' },
    { k: '0.0000000000', d9: '0.00', d18: null, d38: '0', v: null },
    { k: '1844674407.3709551616', d9: '0.01', d18: '0.0001', d38: '18446744073709551616', v: 'ü😀ß' },
    { k: '-1844674407.3709551616', d9: '-0.01', d18: '-0.0001', d38: '-18446744073709551616', v: 'x' },
  ];
  if (i < edges.length) return edges[i]!;
  const sign = i % 2 === 0 ? '' : '-';
  return {
    k: `${sign}${i}.${String(i * 7919).padStart(10, '0')}`,
    d9: `${sign}${i % 10_000}.${String(i % 100).padStart(2, '0')}`,
    d18: i % 3 === 0 ? null : `${sign}${i * 1_000_003}.${String(i % 10_000).padStart(4, '0')}`,
    d38: `${sign}${BigInt(i) * 10n ** 30n + BigInt(i)}`,
    v: i % 5 === 0 ? null : `v${i % 1000}`,
  };
}

/** The decimal string's unscaled integer at `scale`: what `kudu table scan` prints (e.g. -5_D32). */
function unscaled(v: string, scale: number): string {
  const [whole, frac = ''] = v.replace('-', '').split('.');
  const digits = BigInt(`${whole}${frac.padEnd(scale, '0')}`);
  return String(v.startsWith('-') ? -digits : digits);
}

/**
 * An unscaled value as `kudu table scan` prints a cell of `size` bits: `-5_D32`. Kudu 1.17's
 * int128 printing (FastUInt128ToBufferLeft) writes a magnitude of 2^64 or more as its digits
 * above the last 20, then the next 19 without their leading zeros, then the last digit: 2^64
 * prints as 018446744073709551616, 10^32 + 1 as 1000000000000001. The stored value is right
 * (Kudu's scans and this client's agree); the tool's text is not, so the check follows it.
 */
function cliPrinted(unscaledValue: string, size: number): string {
  const v = BigInt(unscaledValue);
  const u = v < 0n ? -v : v;
  if (size < 128 || u < 1n << 64n) return `${unscaledValue}_D${size}`;
  const twenty = 10n ** 20n;
  const rem = u % twenty;
  return `${v < 0n ? '-' : ''}${u / twenty}${rem / 10n}${rem % 10n}_D${size}`;
}

/** `kudu table scan`'s rows: `(decimal k=123_D128, varchar v="x", decimal d=NULL)` as name → printed value. */
async function cliScan(table: string): Promise<Record<string, string>[]> {
  const home = process.env['TRIBUTARY_KUDU_HOME'];
  if (!home)
    throw new Error('TRIBUTARY_KUDU_HOME is not set: start the local cluster with --with kudu and eval its env');
  const { stdout } = await promisify(execFile)(join(home, 'bin', 'kudu'), ['table', 'scan', testKuduMasters(), table], {
    env: { ...process.env, LD_LIBRARY_PATH: join(home, 'lib'), SASL_PATH: join(home, 'lib', 'sasl2') },
    maxBuffer: 64 << 20,
  });
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('('))
    .map((l) => Object.fromEntries([...l.matchAll(/(\w+) (\w+)=(NULL|"[^"]*"|[^,)]+)/g)].map((m) => [m[2]!, m[3]!])));
}

function byK<T extends Record<string, unknown>>(rows: T[]): T[] {
  return [...rows].sort((a, b) => String(a['k']).localeCompare(String(b['k'])));
}

async function scanAll(client: KuduClient, table: KuduTable, options = {}): Promise<ScannedRow[]> {
  const out: ScannedRow[] = [];
  for await (const batch of client.scan(table, options)) out.push(...batch);
  return out;
}

describe('decimal and varchar columns against the real Kudu', () => {
  const client = new KuduClient({ masters: testKuduMasters().split(','), operationTimeoutMs: 60_000 });
  const run = randomUUID().slice(0, 8);
  const name = `it_decimal_${run}`;
  const sinkTable = `it_decimal_sink_${run}`;
  const n = 300;
  const rows = Array.from({ length: n }, (_, i) => rowFor(i));
  let table: KuduTable;

  beforeAll(async () => {
    table = await client.createTable({
      name,
      columns: [
        { name: 'k', type: 'decimal', precision: 38, scale: 10, key: true },
        { name: 'd9', type: 'decimal', precision: 9, scale: 2 },
        { name: 'd18', type: 'decimal64', precision: 18, scale: 4, nullable: true },
        { name: 'd38', type: 'decimal', precision: 38, scale: 0 },
        { name: 'v', type: 'varchar', length: 5, nullable: true },
      ],
      hashPartitions: [{ columns: ['k'], buckets: 4 }],
      rangeColumns: ['k'],
    });
  }, 120_000);

  afterAll(async () => {
    for (const t of [name, sinkTable]) await client.deleteTable(t).catch(() => undefined);
    await client.close();
  });

  it('creates the columns with their precision, scale and length, as Kudu reports them', () => {
    expect(table.schema.columns.map((c) => [c.name, c.type, c.precision, c.scale, c.length])).toEqual([
      ['k', 'decimal128', 38, 10, undefined],
      ['d9', 'decimal32', 9, 2, undefined],
      ['d18', 'decimal64', 18, 4, undefined],
      ['d38', 'decimal128', 38, 0, undefined],
      ['v', 'varchar', undefined, undefined, 5],
    ]);
  });

  it('writes through the client and scans back exactly; Kudu CLI sees the same unscaled values', async () => {
    for (let i = 0; i < n; i += 100) await client.upsert(table, rows.slice(i, i + 100));
    expect(byK(await scanAll(client, table, { batchSizeBytes: 2048 }))).toEqual(byK(rows as ScannedRow[]));
    const cli = await cliScan(name);
    expect(cli).toHaveLength(n);
    const printed = (v: unknown, scale: number, size: number): string =>
      v === null ? 'NULL' : cliPrinted(unscaled(v as string, scale), size);
    const want = rows.map((r) => ({
      k: printed(r.k, 10, 128),
      d9: printed(r.d9, 2, 32),
      d18: printed(r.d18, 4, 64),
      d38: printed(r.d38, 0, 128),
      v: r.v === null ? 'NULL' : JSON.stringify(r.v),
    }));
    expect(byK(cli)).toEqual(byK(want));
  }, 120_000);

  it('finds rows by decimal key (point gets routed by its key encoding) and by decimal predicates', async () => {
    const keys = [0, 1, 3, 4, 17, 250].map((i) => ({ k: rows[i]!.k }));
    const got = await client.get(table, [...keys, { k: '123.4567' }]);
    expect(byK(got)).toEqual(byK([0, 1, 3, 4, 17, 250].map((i) => rows[i] as ScannedRow)));
    // Equal values written differently (trailing zeros, an exponent) are the same decimal.
    expect(await scanAll(client, table, { equals: { d9: '-0.010' } })).toEqual([rows[4]]);
    const inList = await scanAll(client, table, { in: { d38: ['184467440737095516.16e2', `-${'9'.repeat(38)}`] } });
    expect(byK(inList)).toEqual(byK([rows[1], rows[3]] as ScannedRow[]));
    expect(await scanAll(client, table, { equals: { v: 'ü😀ß' } })).toEqual([rows[3]]);
  }, 60_000);

  it('refuses values out of precision or scale and varchars over their length, naming column and value', async () => {
    const refused = async (row: Row): Promise<TributaryError> =>
      (await client.upsert(table, [{ ...rowFor(7), ...row }]).catch((e: unknown) => e)) as TributaryError;
    const tooPrecise = await refused({ d9: '1.005' });
    expect(tooPrecise.code).toBe('TRIB_KUDU_SCHEMA');
    expect(tooPrecise.message).toContain(
      `table "${name}", column "d9" (decimal(9, 2)): string "1.005": more than 2 digits after the point (scale 2)`,
    );
    expect((await refused({ d38: `1${'0'.repeat(38)}` })).message).toContain(
      'column "d38" (decimal(38, 0)): string "100000000000000000000000000000000000000": more than 38 digits (precision 38)',
    );
    expect((await refused({ v: 'abcdef' })).message).toContain(
      'column "v" (varchar(5)): string "abcdef" has 6 characters, over the column\'s 5',
    );
    expect(byK(await scanAll(client, table))).toEqual(byK(rows as ScannedRow[]));
  }, 60_000);

  it("the server itself stores a varchar over its length as sent (Kudu's clients cut it; this one refuses)", async () => {
    // Encoded with a looser length but sent under the table's own schema, as a client without the check would.
    class Unchecked extends Schema {
      override toWire() {
        return table.schema.toWire();
      }
    }
    const loose = new Unchecked(table.schema.columns.map((c) => (c.type === 'varchar' ? { ...c, length: 100 } : c)));
    const key = '424242.0000000000';
    await client.upsert({ ...table, schema: loose }, [{ ...rowFor(9), k: key, v: 'far too long' }]);
    expect((await client.get(table, [{ k: key }]))[0]?.['v']).toBe('far too long');
    await client.write(table, [{ kind: 'delete', row: { k: key } }]);
  }, 60_000);

  it('the kudu sink creates a table with decimal and varchar columns; the kudu source reads it back exactly', async () => {
    const records = Array.from({ length: 200 }, (_, i) => ({
      id: i,
      // JSON numbers are taken by their shortest decimal form when it fits the scale.
      price: i % 2 === 0 ? `${i}.${String(i % 100).padStart(2, '0')}` : i + 0.25,
      big: `-${i + 1}${'0'.repeat(30)}.5`,
      tag: i % 4 === 0 ? null : `t${i}`,
    }));
    const createTable = {
      columns: [
        { name: 'id', type: 'int64', key: true },
        { name: 'price', type: 'decimal', precision: 9, scale: 2 },
        { name: 'big', type: 'decimal', precision: 38, scale: 1 },
        { name: 'tag', type: 'varchar', length: 4, nullable: true },
      ],
      hashBuckets: 3,
      replicas: 1,
    };
    const write: GraphSpec = {
      sources: [{ name: 'in', collection: { records } }],
      sinks: [{ name: 'out', from: 'in', kudu: { masters: testKuduMasters(), table: sinkTable, createTable } }],
    };
    const job = await createJobExecutor(validateGraph(write), { parallelism: 2, logger: silentLogger() });
    expect((await job.run()).state).toBe('FINISHED');

    const got: Emitted[] = [];
    const read: GraphSpec = {
      sources: [{ name: 'k', kudu: { masters: testKuduMasters(), table: sinkTable } }],
      sinks: [{ name: 'out', from: 'k', console: {} }],
    };
    const reader = await createJobExecutor(validateGraph(read), {
      parallelism: 2,
      logger: silentLogger(),
      sinkWriter: () => new CollectingSink(got),
    });
    expect((await reader.run()).state).toBe('FINISHED');
    const want = records.map((r) => ({
      id: r.id,
      price: typeof r.price === 'number' ? r.price.toFixed(2) : r.price,
      big: r.big,
      tag: r.tag,
    }));
    const back = got.map((e) => e.rec as Record<string, unknown>).sort((a, b) => Number(a['id']) - Number(b['id']));
    expect(back).toEqual(want);

    const cli = (await cliScan(sinkTable)).sort((a, b) => Number(a['id']) - Number(b['id']));
    expect(cli).toEqual(
      want.map((r) => ({
        id: String(r.id),
        price: cliPrinted(unscaled(r.price, 2), 32),
        big: cliPrinted(unscaled(r.big, 1), 128),
        tag: r.tag === null ? 'NULL' : JSON.stringify(r.tag),
      })),
    );
  }, 180_000);

  it('fails the job naming the column and the value out of scale, and a createTable whose decimal differs', async () => {
    const sinkOf = (records: Record<string, unknown>[], precision: number): GraphSpec => ({
      sources: [{ name: 'in', collection: { records } }],
      sinks: [
        {
          name: 'out',
          from: 'in',
          kudu: {
            masters: testKuduMasters(),
            table: sinkTable,
            timeout: '20s',
            createTable: {
              columns: [
                { name: 'id', type: 'int64', key: true },
                { name: 'price', type: 'decimal', precision, scale: 2 },
                { name: 'big', type: 'decimal', precision: 38, scale: 1 },
                { name: 'tag', type: 'varchar', length: 4, nullable: true },
              ],
            },
          },
        },
      ],
    });
    const fails = async (g: GraphSpec): Promise<unknown> =>
      (await createJobExecutor(validateGraph(g), { parallelism: 1, logger: silentLogger() })).run().then(
        () => undefined,
        (e: unknown) => e,
      );
    const err = await fails(sinkOf([{ id: 1, price: 0.1 + 0.2, big: '1' }], 9));
    expect(String(err)).toContain(
      'column "price" (decimal(9, 2)): number 0.30000000000000004: more than 2 digits after the point (scale 2)',
    );
    expect(JSON.stringify(errorCodes(err))).toContain('TRIB_KUDU_SCHEMA');
    const mismatch = await fails(sinkOf([{ id: 1, price: '1', big: '1' }], 10));
    expect(String(mismatch)).toContain(
      'createTable.columns[1] ("price"): the table\'s column is decimal(9, 2), the spec says decimal(10, 2)',
    );
  }, 120_000);
});

/** The codes along an error's cause chain (the job wraps a slot's error). */
function errorCodes(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err; e instanceof Error; e = e.cause) if (e instanceof TributaryError) out.push(e.code);
  return out;
}
