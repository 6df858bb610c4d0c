// CreateTable's range bounds and split rows: what is refused before the master sees it (each
// error names the range or split row), and the encoding of what is sent.
import { describe, expect, it } from 'vitest';
import { encodeRangePartitions, type RangeBounds } from './range-bounds.ts';
import type { Row } from './cell-values.ts';
import { Schema } from './schema.ts';

const schema = Schema.fromSpecs([
  { name: 'id', type: 'int64', key: true },
  { name: 'region', type: 'string', key: true },
  { name: 'v', type: 'int32', nullable: true },
]);
const encode = (ranges: RangeBounds[], splits: Row[] = [], columns = [0]) =>
  encodeRangePartitions('t', schema, columns, ranges, splits);
const refusal = (ranges: RangeBounds[], splits: Row[] = [], columns = [0]): string => {
  try {
    encode(ranges, splits, columns);
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
};

describe('range partitions at createTable', () => {
  it('encodes each range as a lower and an upper bound (unbounded: no column set), then the split rows', () => {
    const { rows } = encode([{ upper: { id: 0n } }, { lower: { id: 0n }, upper: { id: 10n } }], [{ id: 5n }]);
    // Per row: the operation type, the columns-set bitmap, the null bitmap (the schema has a
    // nullable column), the cells.
    const bound = (op: number, id?: bigint): Buffer => {
      const b = Buffer.alloc(3 + (id === undefined ? 0 : 8));
      b[0] = op;
      if (id !== undefined) {
        b[1] = 1;
        b.writeBigInt64LE(id, 3);
      }
      return b;
    };
    expect(Buffer.from(rows)).toEqual(
      Buffer.concat([bound(6), bound(7, 0n), bound(6, 0n), bound(7, 10n), bound(4, 5n)]),
    );
  });

  it('refuses bounds out of order, overlapping ranges and splits outside every range, naming them', () => {
    expect(refusal([{ lower: { id: 5n }, upper: { id: 5n } }])).toContain(
      "range 0's lower bound is not below its upper bound",
    );
    expect(refusal([{ lower: { id: 0n }, upper: { id: 10n } }, { lower: { id: 9n } }])).toContain(
      'ranges 0 and 1 overlap',
    );
    expect(refusal([{ upper: { id: 0n } }, { upper: { id: 100n } }])).toContain('ranges 0 and 1 overlap');
    expect(refusal([{ lower: { id: 0n }, upper: { id: 10n } }], [{ id: 10n }])).toContain(
      'split row 0 is not strictly inside any range',
    );
    // Order is Kudu's: a negative int64 sorts below zero, and strings bytewise.
    expect(refusal([{ lower: { id: -1n }, upper: { id: 0n } }, { lower: { id: 0n } }])).toBe('accepted');
    expect(refusal([{ lower: { region: 'b' }, upper: { region: 'a' } }], [], [1])).toContain(
      "range 0's lower bound is not below its upper bound",
    );
  });

  it('refuses rows that name other columns, lack a range column or hold a value of the wrong type', () => {
    expect(refusal([{ lower: { id: 0n, v: 1 } }])).toContain(
      'range 0\'s lower bound names "v", which is not a range column (id)',
    );
    expect(refusal([{ lower: { id: 0n, region: 'a' } }], [{ region: 'x' }], [0, 1])).toContain(
      'split row 0 lacks range column "id"',
    );
    expect(refusal([{ upper: { id: 'ten' } }])).toMatch(/range 0's upper bound: .*column "id" \(int64\)/);
  });
});
