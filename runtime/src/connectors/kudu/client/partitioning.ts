// Which tablet a row belongs to: Kudu's partition key is one 4-byte big-endian bucket per hash
// dimension (MurmurHash2-64 of the dimension's key-encoded columns, seeded, modulo the bucket
// count), then the key encoding of the range columns. Key encoding is order-preserving: signed
// integers (and decimals' unscaled values) big-endian with the sign bit flipped; strings and
// binaries raw when last, otherwise with 0x00 escaped as 0x00 0x01 and terminated by 0x00 0x00.
import type { Row } from './cell-values.ts';
import { parseDecimal } from './decimal.ts';
import { kuduError } from './kudu-errors.ts';
import { cellSize, typeName, type Schema } from './schema.ts';

export interface HashDimension {
  /** Column indexes in the table schema. */
  readonly columns: readonly number[];
  readonly buckets: number;
  readonly seed: number;
}

export interface Partitioning {
  readonly hash: readonly HashDimension[];
  /** Column indexes of the range partition columns (empty: one unbounded range). */
  readonly range: readonly number[];
}

const mask64 = (1n << 64n) - 1n;
const murmurPrime = 0xc6a4a7935bd1e995n;

/** MurmurHash2, 64-bit (Kudu's HashUtil::MurmurHash2_64), over little-endian 8-byte words. */
export function murmur2_64(data: Uint8Array, seed: bigint): bigint {
  const len = data.length;
  let h = (seed ^ ((BigInt(len) * murmurPrime) & mask64)) & mask64;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const words = len >> 3;
  for (let i = 0; i < words; i++) {
    let k = view.getBigUint64(i * 8, true);
    k = (k * murmurPrime) & mask64;
    k ^= k >> 47n;
    k = (k * murmurPrime) & mask64;
    h ^= k;
    h = (h * murmurPrime) & mask64;
  }
  const tail = len & 7;
  if (tail > 0) {
    for (let i = tail - 1; i >= 0; i--) h ^= BigInt(data[words * 8 + i]!) << BigInt(8 * i);
    h = (h * murmurPrime) & mask64;
  }
  h ^= h >> 47n;
  h = (h * murmurPrime) & mask64;
  h ^= h >> 47n;
  return h;
}

function encodeKeyColumn(schema: Schema, index: number, row: Row, last: boolean, out: number[]): void {
  const col = schema.columns[index]!;
  const v = row[col.name];
  if (v === undefined || v === null) {
    throw kuduError('TRIB_KUDU_SCHEMA', `partition column "${col.name}" has no value`);
  }
  const push = (b: Buffer): void => {
    for (const x of b) out.push(x);
  };
  switch (col.type) {
    case 'int8':
      out.push((Number(v) & 0xff) ^ 0x80);
      return;
    case 'int16': {
      const b = Buffer.alloc(2);
      b.writeInt16BE(Number(v));
      b[0]! ^= 0x80;
      return push(b);
    }
    case 'int32':
    case 'date': {
      const b = Buffer.alloc(4);
      b.writeInt32BE(Number(v));
      b[0]! ^= 0x80;
      return push(b);
    }
    case 'int64':
    case 'unixtime_micros': {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(typeof v === 'bigint' ? v : BigInt(v as number));
      b[0]! ^= 0x80;
      return push(b);
    }
    case 'decimal32':
    case 'decimal64':
    case 'decimal128': {
      // As the signed integer of the unscaled value, of the cell's size.
      const unscaled = parseDecimal(v, col.precision!, col.scale!);
      if (typeof unscaled === 'string')
        throw kuduError(
          'TRIB_KUDU_SCHEMA',
          `partition column "${col.name}" (${typeName(col)}): ${String(v)}: ${unscaled}`,
        );
      const b = Buffer.alloc(cellSize[col.type]);
      if (b.length === 4) b.writeInt32BE(Number(unscaled));
      else if (b.length === 8) b.writeBigInt64BE(unscaled);
      else {
        b.writeBigInt64BE(unscaled >> 64n);
        b.writeBigUInt64BE(unscaled & mask64, 8);
      }
      b[0]! ^= 0x80;
      return push(b);
    }
    case 'string':
    case 'varchar':
    case 'binary': {
      const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v as Uint8Array);
      if (last) return push(bytes);
      for (const x of bytes) {
        out.push(x);
        if (x === 0) out.push(1);
      }
      out.push(0, 0);
      return;
    }
    default:
      throw kuduError('TRIB_KUDU_UNSUPPORTED', `column "${col.name}" of type ${col.type} cannot be a partition column`);
  }
}

export function encodeKeyColumns(schema: Schema, columns: readonly number[], row: Row): Buffer {
  const out: number[] = [];
  columns.forEach((c, i) => encodeKeyColumn(schema, c, row, i === columns.length - 1, out));
  return Buffer.from(out);
}

export function hashBucket(schema: Schema, dim: HashDimension, row: Row): number {
  const encoded = encodeKeyColumns(schema, dim.columns, row);
  return Number(murmur2_64(encoded, BigInt(dim.seed)) % BigInt(dim.buckets));
}

/** The row's partition key: compare it with tablets' [partition_key_start, partition_key_end). */
export function partitionKey(schema: Schema, partitioning: Partitioning, row: Row): Buffer {
  const parts: Buffer[] = partitioning.hash.map((dim) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(hashBucket(schema, dim, row));
    return b;
  });
  parts.push(encodeKeyColumns(schema, partitioning.range, row));
  return Buffer.concat(parts);
}
