// CreateTable's explicit range partitions: each range a [lower, upper) pair of rows of the range
// columns (a missing bound: unbounded on that side), and split rows that cut ranges further, all
// sent as one RowOperationsPB (RANGE_LOWER_BOUND/RANGE_UPPER_BOUND pairs, SPLIT_ROWs). Checked
// before the master sees them, with errors naming the range: every bound and split names every
// range column and nothing else; each range's lower bound is below its upper; ranges do not
// overlap; each split row falls inside a range. Order is that of the key encoding, Kudu's own.
import { TributaryError } from '../../../errors.ts';
import type { Row } from './cell-values.ts';
import { kuduError } from './kudu-errors.ts';
import { encodeKeyColumns } from './partitioning.ts';
import { encodeOperations, type EncodedOperations, type Operation } from './row-operations.ts';
import type { Schema } from './schema.ts';

export interface RangeBounds {
  /** Lower bound, inclusive; absent: unbounded below. */
  readonly lower?: Row;
  /** Upper bound, exclusive; absent: unbounded above. */
  readonly upper?: Row;
}

export function encodeRangePartitions(
  table: string,
  schema: Schema,
  rangeColumns: readonly number[],
  ranges: readonly RangeBounds[],
  splitRows: readonly Row[],
): EncodedOperations {
  const names = rangeColumns.map((i) => schema.columns[i]!.name);
  const key = (row: Row, where: string): Buffer => {
    for (const n of Object.keys(row)) {
      if (!names.includes(n)) {
        throw kuduError(
          'TRIB_KUDU_SCHEMA',
          `table "${table}": ${where} names "${n}", which is not a range column (${names.join(', ')})`,
        );
      }
    }
    for (const i of rangeColumns) {
      const col = schema.columns[i]!;
      const v = row[col.name];
      if (v === undefined || v === null) {
        throw kuduError('TRIB_KUDU_SCHEMA', `table "${table}": ${where} lacks range column "${col.name}"`);
      }
    }
    try {
      // Encoding checks each value against its column's type and range.
      encodeOperations(table, schema, [{ kind: 'splitRow', row }]);
    } catch (err) {
      if (err instanceof TributaryError) throw kuduError(err.code, `${where}: ${err.message}`, err);
      throw err;
    }
    return encodeKeyColumns(schema, rangeColumns, row);
  };
  const spans = ranges.map((r, i) => ({
    i,
    lower: r.lower === undefined ? undefined : key(r.lower, `range ${i}'s lower bound`),
    upper: r.upper === undefined ? undefined : key(r.upper, `range ${i}'s upper bound`),
  }));
  for (const s of spans) {
    if (s.lower && s.upper && Buffer.compare(s.lower, s.upper) >= 0) {
      throw kuduError('TRIB_KUDU_SCHEMA', `table "${table}": range ${s.i}'s lower bound is not below its upper bound`);
    }
  }
  const sorted = [...spans].sort((a, b) => (!a.lower ? -1 : !b.lower ? 1 : Buffer.compare(a.lower, b.lower)));
  for (let k = 1; k < sorted.length; k++) {
    const prev = sorted[k - 1]!;
    const next = sorted[k]!;
    if (!prev.upper || !next.lower || Buffer.compare(prev.upper, next.lower) > 0) {
      throw kuduError(
        'TRIB_KUDU_SCHEMA',
        `table "${table}": ranges ${Math.min(prev.i, next.i)} and ${Math.max(prev.i, next.i)} overlap`,
      );
    }
  }
  splitRows.forEach((row, i) => {
    const at = key(row, `split row ${i}`);
    const inside = spans.some(
      (s) => (!s.lower || Buffer.compare(s.lower, at) < 0) && (!s.upper || Buffer.compare(at, s.upper) < 0),
    );
    if (spans.length > 0 && !inside) {
      throw kuduError(
        'TRIB_KUDU_SCHEMA',
        `table "${table}": split row ${i} is not strictly inside any range (a split on a bound or outside every range cuts nothing)`,
      );
    }
  });
  const ops: Operation[] = [];
  for (const r of ranges) {
    ops.push({ kind: 'rangeLowerBound', row: r.lower ?? {} }, { kind: 'rangeUpperBound', row: r.upper ?? {} });
  }
  for (const row of splitRows) ops.push({ kind: 'splitRow', row });
  return encodeOperations(table, schema, ops);
}
