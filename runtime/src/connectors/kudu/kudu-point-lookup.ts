// A kudu source read by point gets for a lookup step (`mode: get`): the lookup column must be the
// table's whole primary key; the keys a batch of records misses in the cache are fetched in one
// in-list scan per tablet holding them (KuduClient.get). Results, rows and misses alike, go into
// a bounded LRU cache with a TTL (connectors/lookup-cache.ts), so a row changed in Kudu is seen
// once its entry expires, and a key without a row is asked again only after the TTL too.
// Record keys arrive as strings (the lookup step compares keys as strings); each is converted to
// the key column's type, and one that cannot be (e.g. "abc" for an int64 key) has no row without
// asking Kudu. `equals` applies to fetched rows: a row that does not match is a miss.
import { TributaryError } from '../../errors.ts';
import { parseDuration } from '../../graph/duration.ts';
import type { KuduSourceSpec } from '../../graph/spec.ts';
import type { KeyedLookup } from '../../operators/keyed-lookup.ts';
import { keyString, type Row } from '../druid/lookup-table.ts';
import { LookupCache } from '../lookup-cache.ts';
import type { CellValue } from './client/cell-values.ts';
import type { KuduClient } from './client/kudu-client.ts';
import { loadKuduClient } from './client/load-client.ts';
import { formatDecimal, parseDecimal } from './client/decimal.ts';
import type { ColumnType, TypeAttributes } from './client/schema.ts';
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
          { ...(this.o.spec.columns ? { columns: this.o.spec.columns } : {}), timeoutMs: this.timeoutMs },
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
