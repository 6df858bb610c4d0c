// JavaScript values of Kudu cells, checked against the column type: int8/16/32, date (days since
// the epoch) and float/double are numbers; int64 and unixtime_micros (microseconds since the
// epoch) are bigints (a safe-integer number is accepted on write); bool is boolean; string is
// string; binary is Uint8Array; decimals are decimal strings ("12.34", see decimal.ts; a bigint
// or a number is accepted on write when exact); varchar is a string of at most its length in
// characters (refused beyond it: Kudu's own clients cut it silently, the server stores whatever
// it is sent). A value of the wrong kind or range names its column.
import { formatDecimal, parseDecimal, readInt128LE, writeInt128LE } from './decimal.ts';
import { kuduError } from './kudu-errors.ts';
import { typeName, type Column } from './schema.ts';

export type CellValue = number | bigint | boolean | string | Uint8Array;
export type Row = Readonly<Record<string, CellValue | null | undefined>>;

const intRange = { int8: [-128, 127], int16: [-32768, 32767], int32: [-2147483648, 2147483647] } as const;
// Kudu's DATE range: 0001-01-01 .. 9999-12-31 in days since 1970-01-01.
const dateRange = [-719162, 2932896] as const;
const int64Min = -(1n << 63n);
const int64Max = (1n << 63n) - 1n;

function bad(table: string, col: Column, what: string): Error {
  return kuduError('TRIB_KUDU_SCHEMA', `table "${table}", column "${col.name}" (${typeName(col)}): ${what}`);
}

function describe(v: unknown): string {
  if (v instanceof Uint8Array) return `binary of ${v.length} bytes`;
  return `${typeof v} ${typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : String(v)}`;
}

/** Writes `v` (known non-null) as `col`'s cell into `out` at `at`; strings and binaries go through `indirect`. */
export function writeCell(
  table: string,
  col: Column,
  v: CellValue,
  out: Buffer,
  at: number,
  indirect: { push(bytes: Uint8Array): number },
): void {
  switch (col.type) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'date': {
      const [min, max] = col.type === 'date' ? dateRange : intRange[col.type];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
        throw bad(table, col, `expected an integer in [${min}, ${max}], got ${describe(v)}`);
      }
      if (col.type === 'int8') out.writeInt8(v, at);
      else if (col.type === 'int16') out.writeInt16LE(v, at);
      else out.writeInt32LE(v, at);
      return;
    }
    case 'int64':
    case 'unixtime_micros': {
      const big = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;
      if (big === undefined || big < int64Min || big > int64Max) {
        throw bad(table, col, `expected a bigint (or safe integer) in the int64 range, got ${describe(v)}`);
      }
      out.writeBigInt64LE(big, at);
      return;
    }
    case 'float':
    case 'double':
      if (typeof v !== 'number') throw bad(table, col, `expected a number, got ${describe(v)}`);
      if (col.type === 'float') out.writeFloatLE(v, at);
      else out.writeDoubleLE(v, at);
      return;
    case 'bool':
      if (typeof v !== 'boolean') throw bad(table, col, `expected a boolean, got ${describe(v)}`);
      out.writeUInt8(v ? 1 : 0, at);
      return;
    case 'decimal32':
    case 'decimal64':
    case 'decimal128': {
      const unscaled = parseDecimal(v, col.precision!, col.scale!);
      if (typeof unscaled === 'string') throw bad(table, col, `${describe(v)}: ${unscaled}`);
      if (col.type === 'decimal32') out.writeInt32LE(Number(unscaled), at);
      else if (col.type === 'decimal64') out.writeBigInt64LE(unscaled, at);
      else writeInt128LE(unscaled, out, at);
      return;
    }
    case 'varchar': {
      if (typeof v !== 'string') throw bad(table, col, `expected a string, got ${describe(v)}`);
      // Characters as Kudu counts them: Unicode code points.
      const chars = [...v].length;
      if (chars > col.length!)
        throw bad(table, col, `${describe(v)} has ${chars} characters, over the column's ${col.length}`);
      const bytes = Buffer.from(v, 'utf8');
      out.writeBigUInt64LE(BigInt(indirect.push(bytes)), at);
      out.writeBigUInt64LE(BigInt(bytes.length), at + 8);
      return;
    }
    case 'string':
    case 'binary': {
      let bytes: Uint8Array;
      if (col.type === 'string' && typeof v === 'string') bytes = Buffer.from(v, 'utf8');
      else if (col.type === 'binary' && v instanceof Uint8Array) bytes = v;
      else throw bad(table, col, `expected ${col.type === 'string' ? 'a string' : 'a Uint8Array'}, got ${describe(v)}`);
      out.writeBigUInt64LE(BigInt(indirect.push(bytes)), at);
      out.writeBigUInt64LE(BigInt(bytes.length), at + 8);
      return;
    }
  }
}

/** Reads `col`'s cell at `at` of a row-wise block; strings and binaries point into `indirect`. */
export function readCell(col: Column, data: Buffer, at: number, indirect: Buffer): CellValue {
  switch (col.type) {
    case 'int8':
      return data.readInt8(at);
    case 'int16':
      return data.readInt16LE(at);
    case 'int32':
    case 'date':
      return data.readInt32LE(at);
    case 'int64':
    case 'unixtime_micros':
      return data.readBigInt64LE(at);
    case 'float':
      return data.readFloatLE(at);
    case 'double':
      return data.readDoubleLE(at);
    case 'bool':
      return data.readUInt8(at) !== 0;
    case 'decimal32':
      return formatDecimal(BigInt(data.readInt32LE(at)), col.scale!);
    case 'decimal64':
      return formatDecimal(data.readBigInt64LE(at), col.scale!);
    case 'decimal128':
      return formatDecimal(readInt128LE(data, at), col.scale!);
    case 'string':
    case 'varchar':
    case 'binary': {
      const offset = Number(data.readBigUInt64LE(at));
      const length = Number(data.readBigUInt64LE(at + 8));
      if (offset + length > indirect.length) {
        throw kuduError('TRIB_KUDU_PROTOCOL', `column "${col.name}": cell points past the indirect data`);
      }
      const bytes = indirect.subarray(offset, offset + length);
      return col.type === 'binary' ? Uint8Array.from(bytes) : bytes.toString('utf8');
    }
  }
}
