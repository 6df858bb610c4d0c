// A lookup key (a record field's text) as a value of a decimal or varchar key column for
// `mode: get`: a varchar up to its length; a decimal only as the text the kudu source emits for
// it (exactly the scale's digits after the point), as `mode: copy` matches it. Any other text
// is a miss without asking Kudu (asking would fail the fetch on a value the column refuses).
import { describe, expect, it } from 'vitest';
import { lookupKeyOf } from '../lookup-key.ts';
import { keyCellsOf } from './kudu-point-lookup.ts';
import { cellOf } from './kudu-spec-values.ts';

describe('lookup keys of decimal and varchar columns', () => {
  it('takes a decimal key only in its scale-exact text, within the precision', () => {
    const d = { precision: 5, scale: 2 };
    expect(cellOf('decimal32', '12.30', d)).toBe('12.30');
    expect(cellOf('decimal32', '-0.05', d)).toBe('-0.05');
    expect(cellOf('decimal32', '12.3', d)).toBeUndefined();
    expect(cellOf('decimal32', '1234.00', d)).toBeUndefined();
    expect(cellOf('decimal32', '1.005', d)).toBeUndefined();
    expect(cellOf('decimal128', 'abc', { precision: 38, scale: 0 })).toBeUndefined();
    expect(
      cellOf('decimal128', '-170141183460469231731687303715884105728', { precision: 38, scale: 0 }),
    ).toBeUndefined();
    expect(cellOf('decimal128', '99999999999999999999999999999999999999', { precision: 38, scale: 0 })).toBe(
      '99999999999999999999999999999999999999',
    );
  });

  it('takes a varchar key up to the column length in characters', () => {
    expect(cellOf('varchar', 'héllo', { length: 5 })).toBe('héllo');
    expect(cellOf('varchar', 'héllo!', { length: 5 })).toBeUndefined();
  });
});

describe('composite lookup keys as cells of their columns', () => {
  const columns = [
    { name: 'region', type: 'string' as const },
    { name: 'id', type: 'int64' as const },
    { name: 'price', type: 'decimal32' as const, precision: 5, scale: 2 },
  ];

  it("converts each part with its own column's type and attributes, by name", () => {
    expect(keyCellsOf(lookupKeyOf(['eu', '7', '1.50'])!, columns)).toEqual({ region: 'eu', id: 7n, price: '1.50' });
  });

  it('is a miss when any part cannot be a value of its column', () => {
    expect(keyCellsOf(lookupKeyOf(['eu', 'abc', '1.50'])!, columns)).toBeUndefined();
    expect(keyCellsOf(lookupKeyOf(['eu', '7', '1.5'])!, columns)).toBeUndefined();
    expect(keyCellsOf(lookupKeyOf(['eu', '7'])!, columns)).toBeUndefined();
  });
});
