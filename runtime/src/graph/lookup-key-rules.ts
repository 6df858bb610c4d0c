// A lookup step's `key` and `column`: both strings (one key column), or both lists of the same
// non-zero length (a composite key: key[i] is matched with column[i], the tuple as a whole). The
// column names of a list are distinct (one column cannot be two parts of a key).
import { show, type Checker, type Obj } from './checker.ts';
import type { FieldTypes } from '../core/record.ts';

export function lookupKeyRules(c: Checker, v: Obj, p: string, schema: FieldTypes | undefined): void {
  const key = v['key'];
  const column = v['column'];
  if (!Array.isArray(key) && !Array.isArray(column)) {
    c.expr(key, `${p}.key`, schema);
    c.string(v, 'column', p);
    return;
  }
  const listOf = (x: unknown, field: string, what: string): boolean => {
    if (Array.isArray(x) && x.length > 0) return true;
    c.add(
      `${p}.${field}`,
      `expected a non-empty list of ${what} (key and column are both strings, or both lists of the same length), got ${show(x)}`,
    );
    return false;
  };
  const keys = listOf(key, 'key', 'CEL expressions');
  const columns = listOf(column, 'column', 'column names');
  if (keys) (key as unknown[]).forEach((k, i) => c.expr(k, `${p}.key[${i}]`, schema));
  if (columns)
    (column as unknown[]).forEach((col, i) => {
      if (typeof col !== 'string' || col === '') c.add(`${p}.column[${i}]`, `expected a column name, got ${show(col)}`);
      else if ((column as unknown[]).indexOf(col) !== i)
        c.add(`${p}.column[${i}]`, `column ${show(col)} is named twice; each key column once`);
    });
  if (keys && columns && (key as unknown[]).length !== (column as unknown[]).length)
    c.add(
      `${p}.column`,
      `expected as many columns as key expressions (${(key as unknown[]).length}), got ${(column as unknown[]).length}`,
    );
}
