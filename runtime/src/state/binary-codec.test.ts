import { describe, expect, it } from 'vitest';
import { BinaryReader } from './binary-reader.ts';
import { BinaryWriter } from './binary-writer.ts';

const roundTrip = (v: unknown): unknown => {
  const w = new BinaryWriter(8); // tiny: exercises regrowth
  w.value(v);
  const bytes = w.finish();
  const r = new BinaryReader(bytes);
  const out = r.value();
  expect(r.pos).toBe(bytes.length);
  return out;
};

describe('tagged value encoding (TVE)', () => {
  it('round-trips JSON values like JSON.parse(JSON.stringify(v))', () => {
    const values: unknown[] = [
      null,
      true,
      false,
      0,
      1,
      127,
      128,
      300,
      -1,
      -129,
      2 ** 53 - 1,
      -(2 ** 53 - 1),
      1_700_000_000_000,
      0.5,
      -3.25,
      1e300,
      2 ** 60,
      '',
      'abc',
      'ü€😀',
      'x'.repeat(200),
      'ascii then é'.repeat(20),
      [],
      [1, [2, [3, 'a']], null],
      { a: 1, b: [true, { c: 'd' }], ü: null },
      { skip: undefined, keep: 1 },
      [undefined, 1],
      { d: new Date(0) },
      JSON.parse('{"__proto__": {"x": 1}}'),
    ];
    for (const v of values) expect(roundTrip(v)).toEqual(JSON.parse(JSON.stringify(v)));
    expect(Object.getPrototypeOf(roundTrip(JSON.parse('{"__proto__": 1}')))).toBe(Object.prototype);
  });

  it('keeps what JSON loses: −0, NaN, ±∞', () => {
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
    expect(roundTrip(Number.NaN)).toBeNaN();
    expect(roundTrip([Infinity, -Infinity])).toEqual([Infinity, -Infinity]);
  });

  it("keeps a BigInt (a typed format's integer) a BigInt, exact past 2^53, apart from a double", () => {
    const v = { sum: 2n ** 63n - 1n, neg: -(2n ** 70n), small: 4n, d: 4 };
    expect(roundTrip(v)).toEqual(v);
  });

  it('refuses data that runs past its end', () => {
    const w = new BinaryWriter();
    w.value(['abcdef', 1_700_000_000_000]);
    const bytes = w.finish();
    for (let n = 0; n < bytes.length; n++)
      expect(() => new BinaryReader(bytes, 0, n).value()).toThrow(
        expect.objectContaining({ code: 'TRIB_STATE_CORRUPT' }),
      );
  });
});
