// Decimal and varchar cells in Kudu's byte formats: exact decimal strings to unscaled
// little-endian int32/int64/int128 and back (negatives, the precision's edges, int128's sign
// and word boundaries), values out of precision or scale refused naming column and value,
// varchar lengths in characters, and the order-preserving key encoding of decimals. The real
// server checks the same bytes end to end (kudu-decimal-varchar.int.test.ts).
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../errors.ts';
import { readCell, writeCell, type CellValue } from './cell-values.ts';
import { formatDecimal, parseDecimal } from './decimal.ts';
import { encodeKeyColumns } from './partitioning.ts';
import { encodeOperations } from './row-operations.ts';
import { cellSize, Schema, type Column } from './schema.ts';
import { decodeRows } from './tablet-scanner.ts';

const schema = Schema.fromSpecs([
  { name: 'd9', type: 'decimal', precision: 9, scale: 2, key: true },
  { name: 'd18', type: 'decimal', precision: 18, scale: 0 },
  { name: 'd38', type: 'decimal', precision: 38, scale: 10, nullable: true },
  { name: 'v', type: 'varchar', length: 3, nullable: true },
]);
const col = (name: string): Column => schema.columns[schema.indexOf(name)!]!;

function roundTrip(c: Column, v: CellValue): { bytes: number[]; back: CellValue } {
  const out = Buffer.alloc(cellSize[c.type]);
  let indirect = Buffer.alloc(0);
  writeCell('t', c, v, out, 0, {
    push(b) {
      indirect = Buffer.from(b);
      return 0;
    },
  });
  return { bytes: [...out], back: readCell(c, out, 0, indirect) };
}

const ten38 = 10n ** 38n;

describe('decimal values', () => {
  it('resolves decimal to decimal32/64/128 by precision and keeps precision and scale', () => {
    expect(schema.columns.map((c) => [c.type, c.precision, c.scale, c.length])).toEqual([
      ['decimal32', 9, 2, undefined],
      ['decimal64', 18, 0, undefined],
      ['decimal128', 38, 10, undefined],
      ['varchar', undefined, undefined, 3],
    ]);
    expect(schema.toWire()[2]).toEqual({
      name: 'd38',
      type: 17,
      is_key: false,
      is_nullable: true,
      type_attributes: { precision: 38, scale: 10 },
    });
  });

  it('parses exactly: strings, exponents, trailing zeros, bigints and numbers by their shortest form', () => {
    expect(parseDecimal('12.34', 9, 2)).toBe(1234n);
    expect(parseDecimal('-0.05', 9, 2)).toBe(-5n);
    expect(parseDecimal('+7', 9, 2)).toBe(700n);
    expect(parseDecimal('.5', 9, 2)).toBe(50n);
    expect(parseDecimal('3.', 9, 2)).toBe(300n);
    expect(parseDecimal('12.3400', 9, 2)).toBe(1234n);
    expect(parseDecimal('1.5e3', 9, 2)).toBe(150000n);
    expect(parseDecimal('1234E-2', 9, 2)).toBe(1234n);
    expect(parseDecimal('-0.00', 9, 2)).toBe(0n);
    expect(parseDecimal(42n, 9, 2)).toBe(4200n);
    expect(parseDecimal(12.34, 9, 2)).toBe(1234n);
    expect(parseDecimal(1e-7, 9, 7)).toBe(1n);
    expect(parseDecimal('9999999.99', 9, 2)).toBe(999999999n);
  });

  it('refuses rather than rounds: too many fraction digits, too many digits, not a number', () => {
    expect(parseDecimal('0.001', 9, 2)).toBe('more than 2 digits after the point (scale 2)');
    expect(parseDecimal(0.1 + 0.2, 9, 2)).toBe('more than 2 digits after the point (scale 2)');
    expect(parseDecimal('10000000', 9, 2)).toBe('more than 9 digits (precision 9)');
    expect(parseDecimal('1e999999999', 38, 0)).toBe('more than 38 digits (precision 38)');
    expect(parseDecimal('1e-999999999', 38, 0)).toBe('more than 0 digits after the point (scale 0)');
    expect(parseDecimal('1.2.3', 9, 2)).toBe('not a decimal number');
    expect(parseDecimal('', 9, 2)).toBe('not a decimal number');
    expect(parseDecimal('.', 9, 2)).toBe('not a decimal number');
    expect(parseDecimal(Number.NaN, 9, 2)).toBe('expected a decimal string such as "12.34"');
    expect(parseDecimal(true, 9, 2)).toBe('expected a decimal string such as "12.34"');
  });

  it('formats with exactly scale digits after the point', () => {
    expect(formatDecimal(1234n, 2)).toBe('12.34');
    expect(formatDecimal(-5n, 2)).toBe('-0.05');
    expect(formatDecimal(0n, 3)).toBe('0.000');
    expect(formatDecimal(-42n, 0)).toBe('-42');
    expect(formatDecimal(ten38 - 1n, 10)).toBe('9999999999999999999999999999.9999999999');
  });

  it('encodes the unscaled value little-endian in 4, 8 or 16 bytes and reads it back', () => {
    expect(roundTrip(col('d9'), '12.34')).toEqual({ bytes: [0xd2, 0x04, 0, 0], back: '12.34' });
    expect(roundTrip(col('d9'), '-0.01')).toEqual({ bytes: [0xff, 0xff, 0xff, 0xff], back: '-0.01' });
    expect(roundTrip(col('d9'), '-9999999.99').back).toBe('-9999999.99');
    expect(roundTrip(col('d18'), '-999999999999999999').back).toBe('-999999999999999999');
    expect(roundTrip(col('d18'), 123).bytes).toEqual([123, 0, 0, 0, 0, 0, 0, 0]);
    // int128: -1 is sixteen 0xff; 2^64 sets the high word's lowest bit; the precision's edges.
    expect(roundTrip(col('d38'), '-0.0000000001').bytes).toEqual(Array(16).fill(0xff));
    expect(roundTrip(col('d38'), '1844674407.3709551616').bytes).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
    ]);
    expect(roundTrip(col('d38'), '1844674407.3709551615').bytes).toEqual([...Array(8).fill(0xff), ...Array(8).fill(0)]);
    const max = formatDecimal(ten38 - 1n, 10);
    for (const v of [max, `-${max}`, '0.0000000001', '-1844674407.3709551616', '0.0000000000'])
      expect(roundTrip(col('d38'), v).back).toBe(v);
    const maxBytes = roundTrip(col('d38'), `-${max}`).bytes;
    const asBig = Buffer.from(maxBytes);
    expect((asBig.readBigInt64LE(8) << 64n) | asBig.readBigUInt64LE(0)).toBe(-(ten38 - 1n));
  });

  it('names the table, the column with its type and the value out of precision or scale', () => {
    const fail = (row: Record<string, CellValue>): unknown => {
      try {
        encodeOperations('t', schema, [{ kind: 'upsert', row: { d9: '1', d18: '1', ...row } }]);
      } catch (err) {
        return err;
      }
      return undefined;
    };
    const tooBig = fail({ d38: `1${'0'.repeat(28)}` });
    expect(tooBig).toBeInstanceOf(TributaryError);
    expect((tooBig as TributaryError).code).toBe('TRIB_KUDU_SCHEMA');
    expect((tooBig as Error).message).toBe(
      'kudu: table "t", column "d38" (decimal(38, 10)): string "10000000000000000000000000000": more than 38 digits (precision 38)',
    );
    expect((fail({ d9: '1.005' }) as Error).message).toMatch(
      /column "d9" \(decimal\(9, 2\)\): string "1.005": more than 2 digits after the point \(scale 2\)/,
    );
    expect((fail({ d18: 1.5 }) as Error).message).toMatch(/column "d18" \(decimal\(18, 0\)\): number 1.5: more than 0/);
  });

  it('encodes decimal keys order-preserving, as signed integers of the cell size', () => {
    const keys = Schema.fromSpecs([
      { name: 'a', type: 'decimal', precision: 38, scale: 2, key: true },
      { name: 'b', type: 'decimal', precision: 4, scale: 1, key: true },
    ]);
    const max = formatDecimal(ten38 - 1n, 2);
    const values = [`-${max}`, '-184467440737095516.16', '-0.01', '0', '0.01', '184467440737095516.16', max];
    const encoded = values.map((a) => encodeKeyColumns(keys, [0, 1], { a, b: '-1.5' }));
    const byEncoding = [...values.keys()].sort((x, y) => Buffer.compare(encoded[x]!, encoded[y]!));
    expect(byEncoding).toEqual([...values.keys()]);
    expect([...encodeKeyColumns(keys, [1], { a: '0', b: '-1.5' })]).toEqual([0x7f, 0xff, 0xff, 0xf1]);
    expect([...encodeKeyColumns(keys, [0], { a: '0.01', b: '0' })]).toEqual([0x80, ...Array(14).fill(0), 1]);
    expect([...encodeKeyColumns(keys, [0], { a: '-1', b: '0' })]).toEqual([0x7f, ...Array(14).fill(0xff), 0x9c]);
    expect(() => encodeKeyColumns(keys, [1], { a: '0', b: '1000' })).toThrow(
      'kudu: partition column "b" (decimal(4, 1)): 1000: more than 4 digits (precision 4)',
    );
  });
});

describe('column types from the master', () => {
  it('reads precision, scale and length from type attributes, refuses them missing and the internal types', () => {
    const wire = Schema.fromWire('t', [
      { name: 'd', type: 16, is_key: true, type_attributes: { precision: 12, scale: 3 } },
      { name: 'v', type: 19, type_attributes: { length: 7 } },
    ]);
    expect(wire.columns.map((c) => [c.type, c.precision, c.scale, c.length])).toEqual([
      ['decimal64', 12, 3, undefined],
      ['varchar', undefined, undefined, 7],
    ]);
    const thrown = (columns: Parameters<typeof Schema.fromWire>[1]): TributaryError => {
      try {
        Schema.fromWire('t', columns);
      } catch (err) {
        return err as TributaryError;
      }
      throw new Error('not refused');
    };
    expect(thrown([{ name: 'v', type: 19 }]).code).toBe('TRIB_KUDU_PROTOCOL');
    for (const [type, name] of [
      [0, 'uint8'],
      [6, 'uint64'],
      [14, 'int128'],
      [21, 'nested'],
    ] as const) {
      const err = thrown([{ name: 'u', type }]);
      expect(err.code).toBe('TRIB_KUDU_UNSUPPORTED');
      expect(err.message).toContain(`table "t", column "u": ${name} columns are not supported`);
    }
  });
});

describe('varchar values', () => {
  it('counts characters (code points), not bytes or UTF-16 units, against the length', () => {
    expect(roundTrip(col('v'), 'ab😀').back).toBe('ab😀');
    expect(roundTrip(col('v'), '').back).toBe('');
    expect(() => roundTrip(col('v'), 'abcd')).toThrow(
      'kudu: table "t", column "v" (varchar(3)): string "abcd" has 4 characters, over the column\'s 3',
    );
    expect(() => roundTrip(col('v'), 7)).toThrow(/column "v" \(varchar\(3\)\): expected a string, got number 7/);
  });
});

describe('row operations and scan blocks with decimal and varchar', () => {
  it('lays decimal cells and varchar slices out in column order and decodes a row-wise block', () => {
    const { rows, indirect } = encodeOperations('t', schema, [
      { kind: 'upsert', row: { d9: '-1.00', d18: '5', d38: null, v: 'é' } },
    ]);
    expect([...rows]).toEqual([
      5,
      0b1111,
      0b0100,
      ...[0x9c, 0xff, 0xff, 0xff],
      ...[5, 0, 0, 0, 0, 0, 0, 0],
      ...[0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0],
    ]);
    expect(indirect.toString()).toBe('é');

    // The same row as a scan returns it: cells, then the null bitmap; the varchar points into the indirect data.
    const width = 4 + 8 + 16 + 16 + 1;
    const block = Buffer.alloc(2 * width);
    block.writeInt32LE(-100, 0);
    block.writeBigInt64LE(5n, 4);
    block.writeBigUInt64LE(0n, 28);
    block.writeBigUInt64LE(2n, 36);
    block[width - 1] = 0b0100;
    block.writeInt32LE(1, width);
    block.writeBigInt64LE(-(1n << 62n), width + 4);
    block.writeBigUInt64LE(ten38 - 1n - (((ten38 - 1n) >> 64n) << 64n), width + 12);
    block.writeBigInt64LE((ten38 - 1n) >> 64n, width + 20);
    block[2 * width - 1] = 0b1000;
    const payload = Buffer.concat([block, Buffer.from('é')]);
    const got = decodeRows(schema, { num_rows: 2, rows_sidecar: 0, indirect_data_sidecar: 1 }, payload, [
      0,
      block.length,
    ]);
    expect(got).toEqual([
      { d9: '-1.00', d18: '5', d38: null, v: 'é' },
      { d9: '0.01', d18: String(-(1n << 62n)), d38: '9999999999999999999999999999.9999999999', v: null },
    ]);
  });
});
