// Values written in a kudu source's spec or carried as lookup keys, as cells of a column's type:
// the text forms the kudu source emits (int64 and timestamps as decimal digits, binary as
// base64), so a value copied from the source's output matches its row. `predicates` of the spec
// become the client's scan predicates here, each value checked against its column's type.
import type { KuduPredicateSpec } from '../../graph/spec.ts';
import { TributaryError } from '../../errors.ts';
import type { CellValue } from './client/cell-values.ts';
import type { ScanPredicate } from './client/scan-predicates.ts';
import { formatDecimal, parseDecimal } from './client/decimal.ts';
import type { ColumnType, TypeAttributes } from './client/schema.ts';
import type { KuduTable } from './client/table-metadata.ts';

/**
 * The spec's predicates as scan predicates of the table's column types; a column the table lacks
 * or a value no cell of its column can hold is TRIB_KUDU_SCHEMA naming `predicates[i]`.
 */
export function scanPredicatesOf(
  source: string,
  table: KuduTable,
  specs: readonly KuduPredicateSpec[] | undefined,
): ScanPredicate[] {
  return (specs ?? []).map((p, i) => {
    const where = `kudu source "${source}": predicates[${i}] (column "${p.column}")`;
    const at = table.schema.indexOf(p.column);
    if (at === undefined)
      throw new TributaryError('TRIB_KUDU_SCHEMA', `${where}: Kudu table "${table.name}" has no such column`);
    const col = table.schema.columns[at]!;
    const type = col.type;
    const cell = (v: unknown, field: string): CellValue => {
      const c = ['string', 'number', 'boolean'].includes(typeof v) ? cellOf(type, String(v), col) : undefined;
      if (c === undefined)
        throw new TributaryError('TRIB_KUDU_SCHEMA', `${where}: ${field} ${JSON.stringify(v)} is not a ${type} value`);
      return c;
    };
    switch (p.op) {
      case 'isNull':
      case 'isNotNull':
        return { column: p.column, op: p.op };
      case 'in':
        return { column: p.column, op: 'in', values: (p.values ?? []).map((v, j) => cell(v, `values[${j}]`)) };
      default:
        return { column: p.column, op: p.op, value: cell(p.value, 'value') };
    }
  });
}

const intRange: Partial<Record<ColumnType, [number, number]>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
};

/**
 * A key string as a value of the key column's type, as the kudu source would have emitted it
 * (int64 and timestamps as decimal digits, binary as base64), or undefined when it cannot be one.
 */
export function cellOf(type: ColumnType, key: string, attributes?: TypeAttributes): CellValue | undefined {
  switch (type) {
    case 'string':
      return key;
    case 'varchar':
      return [...key].length <= (attributes?.length ?? 0) ? key : undefined;
    case 'decimal32':
    case 'decimal64':
    case 'decimal128': {
      // Only the text the source emits ("12.30" at scale 2) names a row: the found row's key is compared as that text.
      const unscaled = parseDecimal(key, attributes?.precision ?? 0, attributes?.scale ?? 0);
      return typeof unscaled === 'bigint' && formatDecimal(unscaled, attributes?.scale ?? 0) === key ? key : undefined;
    }
    case 'int8':
    case 'int16':
    case 'int32':
    case 'date': {
      if (!/^-?\d+$/.test(key)) return undefined;
      const n = Number(key);
      const [lo, hi] = intRange[type] ?? [-719162, 2932896];
      return n >= lo && n <= hi ? n : undefined;
    }
    case 'int64':
    case 'unixtime_micros': {
      if (!/^-?\d+$/.test(key)) return undefined;
      const n = BigInt(key);
      return n >= -(2n ** 63n) && n < 2n ** 63n ? n : undefined;
    }
    case 'bool':
      return key === 'true' ? true : key === 'false' ? false : undefined;
    case 'float':
    case 'double': {
      const n = Number(key);
      return key.trim() !== '' && Number.isFinite(n) ? n : undefined;
    }
    case 'binary':
      return /^[A-Za-z0-9+/]*={0,2}$/.test(key) ? new Uint8Array(Buffer.from(key, 'base64')) : undefined;
  }
}
