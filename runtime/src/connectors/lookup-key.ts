// The key string of a lookup: what a record's key expressions give and what a table row's key
// columns hold, compared as strings. One column: the value's text (keyString), as it always was.
// Several columns (a composite key): the JSON array of the parts' texts — unambiguous whatever
// the parts contain (a join with a separator is not: ("a|b","c") and ("a","b|c") would collide),
// and decodable back into the parts (`keyParts`) for a point get. A part that is null or missing
// makes no key: such a record matches no row, such a row is not indexed.

import type { Rec } from '../core/record.ts';

/** A value's text as a lookup compares it; undefined for null and missing. */
export function keyString(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  return typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint'
      ? String(v)
      : JSON.stringify(v);
}

/** The lookup key of `parts` (values in key-column order), or undefined when a part has none. */
export function lookupKeyOf(parts: readonly unknown[]): string | undefined {
  if (parts.length === 1) return keyString(parts[0]);
  const texts: string[] = [];
  for (const p of parts) {
    const t = keyString(p);
    if (t === undefined) return undefined;
    texts.push(t);
  }
  return JSON.stringify(texts);
}

/** The lookup key of `row` by `columns`, or undefined when one of them has no value there. */
export function rowKeyOf(row: Rec, columns: readonly string[]): string | undefined {
  return lookupKeyOf(columns.map((c) => row[c]));
}

/**
 * The parts' texts of a key made by `lookupKeyOf` for `count` columns; undefined when `key` is
 * not such a key (a caller's key that did not come from lookupKeyOf).
 */
export function keyParts(key: string, count: number): string[] | undefined {
  if (count === 1) return [key];
  let parts: unknown;
  try {
    parts = JSON.parse(key);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parts) || parts.length !== count || !parts.every((p) => typeof p === 'string')) return undefined;
  return parts as string[];
}

/** A lookup step's `key` or `column` as a list (the single-string form is a list of one). */
export function asList(v: string | readonly string[]): readonly string[] {
  return typeof v === 'string' ? [v] : v;
}
