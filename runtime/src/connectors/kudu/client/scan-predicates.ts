// Scan predicates as Kudu's ColumnPredicatePB: equality, in-list, range (Kudu's bounds are lower
// inclusive, upper exclusive, so `>=` is a lower bound and `<` an upper one), IS NULL and IS NOT
// NULL. Values travel in their cell's own encoding (fixed-width little-endian, strings and
// binaries as their bytes). Several predicates on one column are ANDed by the tablet server.
import { writeCell, type CellValue } from './cell-values.ts';
import { kuduError } from './kudu-errors.ts';
import { cellSize } from './schema.ts';
import type { KuduTable } from './table-metadata.ts';

export type ScanPredicate =
  | { readonly column: string; readonly op: '=' | '>=' | '<'; readonly value: CellValue }
  | { readonly column: string; readonly op: 'in'; readonly values: readonly CellValue[] }
  | { readonly column: string; readonly op: 'isNull' | 'isNotNull' };

/** ColumnPredicatePB as the message encoder takes it. */
export type PredicateWire = { column: string } & (
  | { equality: { value: Uint8Array } }
  | { in_list: { values: Uint8Array[] } }
  | { range: { lower?: Uint8Array; upper?: Uint8Array } }
  | { is_null: Record<string, never> }
  | { is_not_null: Record<string, never> }
);

export function predicateWire(table: KuduTable, p: ScanPredicate): PredicateWire {
  const column = p.column;
  switch (p.op) {
    case '=':
      return { column, equality: { value: predicateValue(table, column, p.value) } };
    case 'in':
      return { column, in_list: { values: p.values.map((v) => predicateValue(table, column, v)) } };
    case '>=':
      return { column, range: { lower: predicateValue(table, column, p.value) } };
    case '<':
      return { column, range: { upper: predicateValue(table, column, p.value) } };
    case 'isNull':
    case 'isNotNull':
      // On a column that cannot be null the server makes these "none" and "all".
      columnOf(table, column);
      return p.op === 'isNull' ? { column, is_null: {} } : { column, is_not_null: {} };
  }
}

function columnOf(table: KuduTable, name: string) {
  const i = table.schema.indexOf(name);
  if (i === undefined) throw kuduError('TRIB_KUDU_SCHEMA', `table "${table.name}" has no column "${name}" to match`);
  return table.schema.columns[i]!;
}

/** A predicate's value in the cell's own encoding (strings and binaries as their bytes). */
export function predicateValue(table: KuduTable, name: string, v: CellValue): Uint8Array {
  const col = columnOf(table, name);
  let bytes: Uint8Array | undefined;
  const cell = Buffer.alloc(cellSize[col.type]);
  writeCell(table.name, col, v, cell, 0, {
    push(b: Uint8Array): number {
      bytes = b;
      return 0;
    },
  });
  return bytes ?? cell;
}
