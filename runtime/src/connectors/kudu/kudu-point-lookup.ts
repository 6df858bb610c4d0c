// A kudu source read by point gets for a lookup step (`mode: get`): the lookup columns must be the
// table's whole primary key (one column, or all of a composite key in any order, matched by
// name); the keys a batch of records misses in the cache are fetched in one
// in-list scan per tablet holding them (KuduClient.get). Results, rows and misses alike, go into
// a bounded LRU cache with a TTL (connectors/lookup-cache.ts), so a row changed in Kudu is seen
// once its entry expires, and a key without a row is asked again only after the TTL too.
// Record keys arrive as strings (the lookup step compares keys as strings; a composite key as the
// JSON of its parts' strings, lookup-key.ts); each part is converted to its key column's type,
// and a key with a part that cannot be (e.g. "abc" for an int64 column) has no row without
// asking Kudu. `equals` applies to fetched rows and `predicates` to the scans: a row that does not
// match is a miss.
import type { Logger } from 'pino';
import type { ReportOutage } from '../../core/outage.ts';
import { TributaryError } from '../../errors.ts';
import { parseDuration } from '../../graph/duration.ts';
import type { KuduSourceSpec } from '../../graph/spec.ts';
import type { KeyedLookup } from '../keyed-lookup.ts';
import { LookupCache } from '../lookup-cache.ts';
import { keyParts, keyString, rowKeyOf } from '../lookup-key.ts';
import type { Rec } from '../../core/record.ts';
import type { CellValue } from './client/cell-values.ts';
import type { KuduClient } from './client/kudu-client.ts';
import { clientTls } from './kudu-tls-config.ts';
import { loadKuduClient } from './client/load-client.ts';
import type { Column } from './client/schema.ts';
import type { ScanPredicate } from './client/scan-predicates.ts';
import { cellOf, scanPredicatesOf } from './kudu-spec-values.ts';
import type { KuduTable } from './client/table-metadata.ts';
import { KuduOutage } from './kudu-outage.ts';
import { masterList, recordOf } from './kudu-source.ts';

export const DEFAULT_MAX_ENTRIES = 10_000;
export const DEFAULT_TTL_MS = 60_000;

export interface KuduPointLookupOptions {
  /** The source's name, for messages. */
  readonly name: string;
  readonly spec: KuduSourceSpec;
  /** The lookup step's columns: the table's primary key columns, in the step's order. */
  readonly columns: readonly string[];
  readonly now?: () => number;
  /** Keys asked of Kudu, per fetch. */
  onFetched?(keys: number): void;
  onCacheSize?(entries: number): void;
  /** With it, Kudu unavailable while opening or fetching is warned about (kudu-outage.ts). */
  readonly logger?: Logger;
  /** Where the slot collects outages (dependency kudu, component `lookup "<name>"`). */
  readonly reportOutage?: ReportOutage;
}

/**
 * The key columns' cells of a lookup key (lookup-key.ts: one part per column, in `columns`'
 * order), each part converted to its column's type; undefined when a part cannot be a value of
 * its column (the key is then a miss, not asked of Kudu).
 */
export function keyCellsOf(
  key: string,
  columns: readonly Pick<Column, 'name' | 'type' | 'precision' | 'scale' | 'length'>[],
): Record<string, CellValue> | undefined {
  const parts = keyParts(key, columns.length);
  if (parts === undefined) return undefined;
  const cells: Record<string, CellValue> = {};
  for (const [i, c] of columns.entries()) {
    const v = cellOf(c.type, parts[i] as string, c);
    if (v === undefined) return undefined;
    cells[c.name] = v;
  }
  return cells;
}

export class KuduPointLookup implements KeyedLookup {
  private readonly o: KuduPointLookupOptions;
  readonly cache: LookupCache<Rec>;
  private readonly timeoutMs: number;
  private client: KuduClient | undefined;
  private table: KuduTable | undefined;
  /** Type and attributes of each lookup column, in the step's order. */
  private keyColumns: Column[] = [];
  private predicates: ScanPredicate[] = [];
  private outage: KuduOutage | undefined;
  /** Rows fetched from Kudu (found), for tests and logs. */
  fetchedRows = 0;

  constructor(o: KuduPointLookupOptions) {
    this.o = o;
    this.timeoutMs = parseDuration(o.spec.timeout) ?? 30_000;
    this.cache = new LookupCache<Rec>({
      maxEntries: o.spec.maxEntries ?? DEFAULT_MAX_ENTRIES,
      ttlMs: parseDuration(o.spec.ttl) ?? DEFAULT_TTL_MS,
      ...(o.now ? { now: o.now } : {}),
    });
  }

  async open(): Promise<void> {
    const { spec, columns, name } = this.o;
    const masters = masterList(spec.masters);
    const outage =
      this.o.logger &&
      new KuduOutage({
        role: 'lookup',
        name,
        table: spec.table,
        masters: masters.join(','),
        timeoutMs: this.timeoutMs,
        timeoutText: spec.timeout ?? '30s',
        logger: this.o.logger,
        ...(this.o.reportOutage ? { report: this.o.reportOutage } : {}),
      });
    this.outage = outage;
    this.client = new (await loadKuduClient())({
      masters,
      operationTimeoutMs: this.timeoutMs,
      ...clientTls(spec.tls),
      ...(outage ? { onRetry: (what: string, err: unknown, at: number) => outage.retry(what, err, at) } : {}),
    });
    try {
      this.table = await this.client.openTable(spec.table);
    } catch (err) {
      throw outage ? outage.failed(`opening table "${spec.table}"`, err) : err;
    }
    outage?.ok();
    const schema = this.table.schema;
    const keys = schema.columns.slice(0, schema.keyCount);
    const byName = new Map(keys.map((k) => [k.name, k]));
    const named = columns.map((c) => byName.get(c));
    if (keys.length !== columns.length || new Set(columns).size !== columns.length || named.includes(undefined))
      throw new TributaryError(
        'TRIB_KUDU_SCHEMA',
        `lookup table "${name}" (mode: get): column ${columns.map((c) => `"${c}"`).join(', ')} must be the whole primary key of Kudu table "${spec.table}", whose key is (${keys.map((k) => k.name).join(', ')})`,
      );
    this.keyColumns = named as typeof keys;
    this.predicates = scanPredicatesOf(name, this.table, spec.predicates);
    for (const c of [...(spec.columns ?? []), ...Object.keys(spec.equals ?? {})])
      if (schema.indexOf(c) === undefined)
        throw new TributaryError(
          'TRIB_KUDU_SCHEMA',
          `lookup table "${name}": Kudu table "${spec.table}" has no column "${c}"`,
        );
  }

  cached(key: string): Rec | null | undefined {
    return this.cache.get(key);
  }

  async fetch(keys: readonly string[]): Promise<ReadonlyMap<string, Rec | null>> {
    const client = this.client;
    const table = this.table;
    if (!client || !table) throw new TributaryError('TRIB_INVARIANT', `lookup table "${this.o.name}" used before open`);
    const found = new Map<string, Rec | null>();
    const asked: { key: string; cells: Record<string, CellValue> }[] = [];
    for (const k of keys) {
      const cells = keyCellsOf(k, this.keyColumns);
      if (cells === undefined) found.set(k, null);
      else asked.push({ key: k, cells });
    }
    if (asked.length > 0) {
      this.o.onFetched?.(asked.length);
      let rows;
      try {
        rows = await client.get(
          table,
          asked.map((a) => a.cells),
          {
            ...(this.o.spec.columns ? { columns: this.o.spec.columns } : {}),
            predicates: this.predicates,
            timeoutMs: this.timeoutMs,
          },
        );
      } catch (e) {
        const what = `getting ${asked.length} keys from Kudu table "${this.o.spec.table}"`;
        // Kudu unavailable past the bound: the message names the lookup, masters or server, bound.
        const named = this.outage?.failed(what, e);
        throw new TributaryError(
          'TRIB_KUDU_LOOKUP',
          named !== undefined && named !== e
            ? (named as Error).message
            : `lookup table "${this.o.name}": ${what} failed: ${(e as Error).message}`,
          { cause: e },
        );
      }
      this.outage?.ok();
      this.fetchedRows += rows.length;
      for (const a of asked) found.set(a.key, null);
      for (const r of rows) {
        const rec = recordOf(r);
        const k = rowKeyOf(rec, this.o.columns);
        if (k !== undefined && found.has(k) && this.matches(rec)) found.set(k, rec);
      }
    }
    for (const [k, row] of found) this.cache.set(k, row);
    this.o.onCacheSize?.(this.cache.size);
    return found;
  }

  private matches(rec: Rec): boolean {
    for (const [c, v] of Object.entries(this.o.spec.equals ?? {})) if (keyString(rec[c]) !== keyString(v)) return false;
    return true;
  }

  close(): void {
    const c = this.client;
    this.client = undefined;
    void c?.close();
  }
}
