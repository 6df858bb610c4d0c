// Lookup keys: one column is the value's text (as before composite keys); a tuple is the JSON of
// its parts' texts, unambiguous where a separator would collide, and decoded back for point gets.
import { describe, expect, it } from 'vitest';
import { indexRows } from './lookup-table.ts';
import { keyParts, lookupKeyOf, rowKeyOf } from './lookup-key.ts';

describe('lookup keys', () => {
  it('keeps one column as the text of its value', () => {
    expect(lookupKeyOf([42])).toBe('42');
    expect(lookupKeyOf(['eu'])).toBe('eu');
    expect(lookupKeyOf([null])).toBeUndefined();
    expect(keyParts('["a"]', 1)).toEqual(['["a"]']);
  });

  it('encodes a tuple so that parts holding separators or quotes do not collide', () => {
    const a = lookupKeyOf(['a|b', 'c']);
    const b = lookupKeyOf(['a', 'b|c']);
    expect(a).not.toBe(b);
    expect(lookupKeyOf(['a,"b', 'c'])).not.toBe(lookupKeyOf(['a', '"b,c']));
    expect(lookupKeyOf(['eu', 7])).toBe(lookupKeyOf(['eu', '7']));
    for (const parts of [
      ['a|b', 'c'],
      ['a,"b', '\\'],
      ['', ''],
    ])
      expect(keyParts(lookupKeyOf(parts)!, 2)).toEqual(parts);
  });

  it('has no key when a part is null or missing', () => {
    expect(lookupKeyOf(['eu', null])).toBeUndefined();
    expect(rowKeyOf({ region: 'eu' }, ['region', 'id'])).toBeUndefined();
  });

  it('decodes only a tuple of as many strings as columns', () => {
    expect(keyParts('["eu","7"]', 2)).toEqual(['eu', '7']);
    expect(keyParts('["eu","7"]', 3)).toBeUndefined();
    expect(keyParts('["eu",7]', 2)).toBeUndefined();
    expect(keyParts('eu|7', 2)).toBeUndefined();
  });

  it('indexes copied rows by the tuple of their key columns, in the step order', () => {
    const rows = [
      { region: 'eu', id: 1, v: 'a' },
      { region: 'us', id: 1, v: 'b' },
      { region: 'eu', id: null, v: 'c' },
    ];
    const m = indexRows(rows, ['id', 'region']);
    expect(m.size).toBe(2);
    expect(m.get(lookupKeyOf([1, 'us'])!)).toBe(rows[1]);
    expect(m.get(lookupKeyOf(['us', 1])!)).toBeUndefined();
  });
});
