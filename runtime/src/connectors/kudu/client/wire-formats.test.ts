// Kudu's byte formats as this client writes and reads them: KRPC frames split across socket
// reads, the row-operations layout, order-preserving key encoding, and row-wise scan blocks.
// The real server checks the same formats end to end (kudu-client.int.test.ts).
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../errors.ts';
import { encodeFrame, FrameReader, mainMessage, sidecar, splitFrame } from './framing.ts';
import { encodeKeyColumns } from './partitioning.ts';
import { encodeOperations } from './row-operations.ts';
import { Schema } from './schema.ts';
import { decodeRows } from './tablet-scanner.ts';
import { tabletFor, type Tablet } from './tablet-locations.ts';

const schema = Schema.fromSpecs([
  { name: 'k', type: 'int32', key: true },
  { name: 's', type: 'string', nullable: true },
  { name: 'b', type: 'bool' },
]);

describe('KRPC frames', () => {
  it('reassembles frames split and joined across reads', () => {
    const a = encodeFrame(Uint8Array.of(1, 2), Uint8Array.of(3));
    const b = encodeFrame(Uint8Array.of(4), Uint8Array.of(5, 6, 7));
    const all = Buffer.concat([a, b]);
    const reader = new FrameReader();
    const got = [
      ...reader.push(all.subarray(0, 3)),
      ...reader.push(all.subarray(3, a.length + 2)),
      ...reader.push(all.subarray(a.length + 2)),
    ];
    expect(got).toHaveLength(2);
    const first = splitFrame(got[0]!);
    expect([...first.header]).toEqual([1, 2]);
    expect([...mainMessage(first.rest)]).toEqual([3]);
    expect([...mainMessage(splitFrame(got[1]!).rest)]).toEqual([5, 6, 7]);
  });

  it('refuses a frame length over the limit', () => {
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(0x7fffffff);
    expect(() => new FrameReader().push(huge)).toThrow(TributaryError);
  });

  it('cuts sidecars at the next offset', () => {
    const payload = Uint8Array.of(9, 9, 1, 2, 3, 4, 5);
    expect([...sidecar(payload, [2, 5], 0)]).toEqual([1, 2, 3]);
    expect([...sidecar(payload, [2, 5], 1)]).toEqual([4, 5]);
    expect(() => sidecar(payload, [2], 1)).toThrow(/sidecar 1/);
  });
});

describe('row operations', () => {
  it('lays out type, isset bitmap, null bitmap and cells, strings through indirect data', () => {
    const { rows, indirect } = encodeOperations('t', schema, [
      { kind: 'upsert', row: { k: -2, s: 'hi', b: true } },
      { kind: 'upsert', row: { k: 7, s: null, b: false } },
      { kind: 'delete', row: { k: 7 } },
    ]);
    const expected = Buffer.concat([
      // upsert (5), columns 0-2 set, none null, int32 -2 LE, slice (offset 0, length 2), true
      Buffer.from([5, 0b111, 0b000, 0xfe, 0xff, 0xff, 0xff]),
      Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1]),
      // upsert, all set, column 1 null: no cell for it
      Buffer.from([5, 0b111, 0b010, 7, 0, 0, 0, 0]),
      // delete (3): the key only
      Buffer.from([3, 0b001, 0b000, 7, 0, 0, 0]),
    ]);
    expect(rows).toEqual(expected);
    expect(indirect.toString()).toBe('hi');
  });

  it('names the table and column of a bad value', () => {
    expect(() => encodeOperations('t', schema, [{ kind: 'upsert', row: { k: 1.5, b: true } }])).toThrow(
      /table "t", column "k" \(int32\)/,
    );
    expect(() => encodeOperations('t', schema, [{ kind: 'upsert', row: { k: 1, b: null } }])).toThrow(
      /column "b" is not nullable/,
    );
    expect(() => encodeOperations('t', schema, [{ kind: 'upsert', row: { s: 'x', b: true } }])).toThrow(
      /lacks key column "k"/,
    );
  });
});

describe('key encoding', () => {
  const keys = Schema.fromSpecs([
    { name: 'a', type: 'int64', key: true },
    { name: 'b', type: 'string', key: true },
  ]);

  it('sorts as the values do (signed integers, then strings with NULs)', () => {
    const rows = [
      { a: -(1n << 63n), b: '' },
      { a: -1n, b: 'a' },
      { a: 0n, b: 'a' },
      { a: 0n, b: 'a\u0000' },
      { a: 0n, b: 'a\u0000b' },
      { a: 0n, b: 'ab' },
      { a: (1n << 63n) - 1n, b: 'z' },
    ];
    const encoded = rows.map((r) => encodeKeyColumns(keys, [1, 0], r));
    // Sorted by (b, a) when b comes first.
    const byB = [...rows.keys()].sort((x, y) =>
      rows[x]!.b === rows[y]!.b ? Number(rows[x]!.a - rows[y]!.a) : rows[x]!.b < rows[y]!.b ? -1 : 1,
    );
    const byEncoding = [...rows.keys()].sort((x, y) => Buffer.compare(encoded[x]!, encoded[y]!));
    expect(byEncoding).toEqual(byB);
    expect([...encodeKeyColumns(keys, [1, 0], { a: 0n, b: 'a\u0000' })]).toEqual([
      0x61, 0, 1, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0,
    ]);
  });
});

describe('row-wise scan blocks', () => {
  it('reads cells, the null bitmap and indirect strings', () => {
    const width = 4 + 16 + 1 + 1;
    const block = Buffer.alloc(2 * width);
    block.writeInt32LE(-2, 0);
    block.writeBigUInt64LE(0n, 4);
    block.writeBigUInt64LE(2n, 12);
    block[20] = 1;
    block.writeInt32LE(7, width);
    block[width + 21] = 0b010;
    const indirect = Buffer.from('hi');
    const payload = Buffer.concat([Buffer.from([0xaa]), block, indirect]);
    const rows = decodeRows(schema, { num_rows: 2, rows_sidecar: 0, indirect_data_sidecar: 1 }, payload, [
      1,
      1 + block.length,
    ]);
    expect(rows).toEqual([
      { k: -2, s: 'hi', b: true },
      { k: 7, s: null, b: false },
    ]);
  });
});

describe('tabletFor', () => {
  const t = (start: number[], end: number[]): Tablet => ({
    id: Buffer.from(start),
    start: Buffer.from(start),
    end: Buffer.from(end),
    leader: undefined,
  });
  // Hash buckets 0..2, then a gap ([0,0,0,3] .. [0,0,0,5]) and an unbounded last range.
  const tablets = [
    t([], [0, 0, 0, 1]),
    t([0, 0, 0, 1], [0, 0, 0, 2]),
    t([0, 0, 0, 2], [0, 0, 0, 3]),
    t([0, 0, 0, 5], []),
  ];

  it('finds the tablet whose [start, end) holds the key, none in a gap', () => {
    const at = (k: number[]) => tabletFor(tablets, Buffer.from(k));
    expect(at([0, 0, 0, 0, 9])).toBe(tablets[0]);
    expect(at([0, 0, 0, 1])).toBe(tablets[1]);
    expect(at([0, 0, 0, 2, 255])).toBe(tablets[2]);
    expect(at([0, 0, 0, 3])).toBeUndefined();
    expect(at([0, 0, 0, 4, 1])).toBeUndefined();
    expect(at([0, 0, 0, 5])).toBe(tablets[3]);
    expect(at([9, 9])).toBe(tablets[3]);
    expect(tabletFor([], Buffer.from([1]))).toBeUndefined();
  });
});
