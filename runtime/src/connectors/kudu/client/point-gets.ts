// Rows by primary key: each key is routed to its tablet by partition key (as a write would be),
// and each tablet that holds any of the keys gets one scan with an in-list predicate per key
// column, all tablets in parallel. An in-list per column of a composite key matches the cross
// product of the values, so rows are kept only when their whole key was asked for. A key that
// falls in no range partition has no row. Retried, with fresh locations, on a broken connection
// or a tablet-server answer that locations are stale, until the deadline.
import type { CellValue, Row } from './cell-values.ts';
import { isRetriable } from './connection.ts';
import type { ConnectionPool } from './connection-pool.ts';
import { kuduError } from './kudu-errors.ts';
import { partitionKey } from './partitioning.ts';
import { withRetries, type Deadline } from './retry.ts';
import type { KuduTable } from './table-metadata.ts';
import { tabletFor, type TabletLocations } from './tablet-locations.ts';
import type { ScanPredicate } from './scan-predicates.ts';
import { scanTablets, type ScannedRow } from './tablet-scanner.ts';
import { TributaryError } from '../../../errors.ts';

export interface PointGetOptions {
  /** Columns to return (the key columns are always returned); default every column. */
  readonly columns?: readonly string[];
  /** Rows must also satisfy these (a row with the key that fails one is absent). */
  readonly predicates?: readonly ScanPredicate[];
}

/** The rows whose primary key is one of `keys` (each key: every key column's value), in no particular order. */
export async function getRows(
  pool: ConnectionPool,
  locations: TabletLocations,
  table: KuduTable,
  keys: readonly Row[],
  options: PointGetOptions,
  d: Deadline,
): Promise<ScannedRow[]> {
  if (keys.length === 0) return [];
  const keyColumns = table.schema.columns.slice(0, table.schema.keyCount).map((c) => c.name);
  for (const k of keys)
    for (const c of keyColumns)
      if (k[c] === undefined || k[c] === null)
        throw kuduError('TRIB_KUDU_SCHEMA', `table "${table.name}": a point get needs key column "${c}"`);
  const columns = options.columns
    ? [...options.columns, ...keyColumns.filter((c) => !options.columns?.includes(c))]
    : undefined;
  const partitionKeys = keys.map((k) => partitionKey(table.schema, table.partitioning, k));
  return withRetries(
    d,
    async () => {
      const byTablet = new Map<string, Row[]>();
      const tablets = await locations.all(table.name, table.id, d);
      for (let i = 0; i < keys.length; i++) {
        const tablet = tabletFor(tablets, partitionKeys[i]!);
        if (!tablet) continue;
        const hex = tablet.id.toString('hex');
        const list = byTablet.get(hex) ?? [];
        list.push(keys[i]!);
        byTablet.set(hex, list);
      }
      try {
        const found = await Promise.all(
          [...byTablet].map(async ([hex, tabletKeys]) => {
            const scan = scanTablets(
              pool,
              locations,
              table,
              {
                ...(columns ? { columns } : {}),
                in: inLists(keyColumns, tabletKeys),
                predicates: options.predicates ?? [],
                tablets: [hex],
              },
              d,
            );
            const rows: ScannedRow[] = [];
            for await (const batch of scan) rows.push(...batch);
            return keyColumns.length === 1 ? rows : rows.filter(wanted(keyColumns, tabletKeys));
          }),
        );
        return found.flat();
      } catch (err) {
        // A tablet that moved or a leader that changed: locate again before the next attempt.
        if (retriableScanError(err)) locations.invalidate(table.id);
        throw err;
      }
    },
    retriableScanError,
  );
}

function retriableScanError(err: unknown): boolean {
  if (isRetriable(err)) return true;
  // Scans report a tablet server's refusal (not the leader, tablet not running) as TSERVER.
  return (
    err instanceof TributaryError &&
    err.code === 'TRIB_KUDU_TSERVER' &&
    /NOT_FOUND|not running|leader/i.test(err.message)
  );
}

function inLists(keyColumns: readonly string[], keys: readonly Row[]): Record<string, CellValue[]> {
  const lists: Record<string, CellValue[]> = {};
  for (const c of keyColumns) {
    const seen = new Map<string, CellValue>();
    for (const k of keys) seen.set(identity(k[c] as CellValue), k[c] as CellValue);
    lists[c] = [...seen.values()];
  }
  return lists;
}

function wanted(keyColumns: readonly string[], keys: readonly Row[]): (r: ScannedRow) => boolean {
  const tuple = (r: Row | ScannedRow) => keyColumns.map((c) => identity(r[c] as CellValue)).join('\u0000');
  const set = new Set(keys.map(tuple));
  return (r) => set.has(tuple(r));
}

/** A value's identity across the forms a key arrives in (a safe number and its bigint are the same key). */
function identity(v: CellValue): string {
  if (v instanceof Uint8Array) return `b:${Buffer.from(v).toString('base64')}`;
  return typeof v === 'bigint' || typeof v === 'number' ? `n:${String(v)}` : `${typeof v}:${String(v)}`;
}
