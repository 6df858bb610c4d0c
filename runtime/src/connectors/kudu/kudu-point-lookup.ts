// A kudu source read by point gets for a lookup step (`mode: get`): the lookup column must be the
// table's whole primary key; the keys a batch of records misses in the cache are fetched in one
// in-list scan per tablet holding them (KuduClient.get). Results, rows and misses alike, go into
// a bounded LRU cache with a TTL (connectors/lookup-cache.ts), so a row changed in Kudu is seen
// once its entry expires, and a key without a row is asked again only after the TTL too.
// Record keys arrive as strings (the lookup step compares keys as strings); each is converted to
// the key column's type, and one that cannot be (e.g. "abc" for an int64 key) has no row without
// asking Kudu. `equals` applies to fetched rows and `predicates` to the scans: a row that does not
// match is a miss.
import { TributaryError } from '../../errors.ts';
import { parseDuration } from '../../graph/duration.ts';
import type { KuduSourceSpec } from '../../graph/spec.ts';
import type { KeyedLookup } from '../../operators/keyed-lookup.ts';
import { keyString, type Row } from '../druid/lookup-table.ts';
import { LookupCache } from '../lookup-cache.ts';
import type { CellValue } from './client/cell-values.ts';
import type { KuduClient } from './client/kudu-client.ts';
import { clientTls } from './kudu-tls-config.ts';
import { loadKuduClient } from './client/load-client.ts';
import type { ColumnType, TypeAttributes } from './client/schema.ts';
import type { ScanPredicate } from './client/scan-predicates.ts';
import { cellOf, scanPredicatesOf } from './kudu-spec-values.ts';
import type { KuduTable } from './client/table-metadata.ts';
import { masterList, recordOf } from './kudu-source.ts';

export const DEFAULT_MAX_ENTRIES = 10_000;
export const DEFAULT_TTL_MS = 60_000;

export interface KuduPointLookupOptions {
  /** The source's name, for messages. */
  readonly name: string;
  readonly spec: KuduSourceSpec;
  /** The lookup step's column: the table's primary key. */
  readonly column: string;
  readonly now?: () => number;
  /** Keys asked of Kudu, per fetch. */
  onFetched?(keys: number): void;
  onCacheSize?(entries: number): void;
}

export class KuduPointLookup implements KeyedLookup {
  private readonly o: KuduPointLookupOptions;
  readonly cache: LookupCache<Row>;
  private readonly timeoutMs: number;
  private client: KuduClient | undefined;
  private table: KuduTable | undefined;
  private keyType: ColumnType = 'string';
  private predicates: ScanPredicate[] = [];
  private keyAttributes: TypeAttributes = {};
  /** Rows fetched from Kudu (found), for tests and logs. */
  fetchedRows = 0;

  constructor(o: KuduPointLookupOptions) {
    this.o = o;
    this.timeoutMs = parseDuration(o.spec.timeout) ?? 30_000;
    this.cache = new LookupCache<Row>({
      maxEntries: o.spec.maxEntries ?? DEFAULT_MAX_ENTRIES,
      ttlMs: parseDuration(o.spec.ttl) ?? DEFAULT_TTL_MS,
      ...(o.now ? { now: o.now } : {}),
    });
  }

  async open(): Promise<void> {
    const { spec, column, name } = this.o;
    this.client = new (await loadKuduClient())({
      masters: masterList(spec.masters),
      operationTimeoutMs: this.timeoutMs,
      ...clientTls(spec.tls),
    });
    this.table = await this.client.openTable(spec.table);
    const schema = this.table.schema;
    const keys = schema.columns.slice(0, schema.keyCount);
    if (keys.length !== 1 || keys[0]?.name !== column)
      throw new TributaryError(
        'TRIB_KUDU_SCHEMA',
        `lookup table "${name}" (mode: get): column "${column}" must be the primary key of Kudu table "${spec.table}", whose key is (${keys.map((k) => k.name).join(', ')})`,
      );
    this.keyType = keys[0].type;
    this.predicates = scanPredicatesOf(name, this.table, spec.predicates);
    this.keyAttributes = keys[0];
    for (const c of [...(spec.columns ?? []), ...Object.keys(spec.equals ?? {})])
      if (schema.indexOf(c) === undefined)
        throw new TributaryError(
          'TRIB_KUDU_SCHEMA',
          `lookup table "${name}": Kudu table "${spec.table}" has no column "${c}"`,
        );
  }

  cached(key: string): Row | null | undefined {
    return this.cache.get(key);
  }

  async fetch(keys: readonly string[]): Promise<ReadonlyMap<string, Row | null>> {
    const client = this.client;
    const table = this.table;
    if (!client || !table) throw new TributaryError('TRIB_INVARIANT', `lookup table "${this.o.name}" used before open`);
    const found = new Map<string, Row | null>();
    const asked: { key: string; value: CellValue }[] = [];
    for (const k of keys) {
      const value = cellOf(this.keyType, k, this.keyAttributes);
      if (value === undefined) found.set(k, null);
      else asked.push({ key: k, value });
    }
    if (asked.length > 0) {
      this.o.onFetched?.(asked.length);
      let rows;
      try {
        rows = await client.get(
          table,
          asked.map((a) => ({ [this.o.column]: a.value })),
          {
            ...(this.o.spec.columns ? { columns: this.o.spec.columns } : {}),
            predicates: this.predicates,
            timeoutMs: this.timeoutMs,
          },
        );
      } catch (e) {
        throw new TributaryError(
          'TRIB_KUDU_LOOKUP',
          `lookup table "${this.o.name}": getting ${asked.length} keys from Kudu table "${this.o.spec.table}" failed: ${(e as Error).message}`,
          { cause: e },
        );
      }
      this.fetchedRows += rows.length;
      for (const a of asked) found.set(a.key, null);
      for (const r of rows) {
        const rec = recordOf(r);
        const k = keyString(rec[this.o.column]);
        if (k !== undefined && found.has(k) && this.matches(rec)) found.set(k, rec);
      }
    }
    for (const [k, row] of found) this.cache.set(k, row);
    this.o.onCacheSize?.(this.cache.size);
    return found;
  }

  private matches(rec: Row): boolean {
    for (const [c, v] of Object.entries(this.o.spec.equals ?? {})) if (keyString(rec[c]) !== keyString(v)) return false;
    return true;
  }

  close(): void {
    const c = this.client;
    this.client = undefined;
    void c?.close();
  }
}
