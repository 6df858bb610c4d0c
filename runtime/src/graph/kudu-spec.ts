// The Kudu connectors' part of the job graph contract (spec.ts re-exports it): a source's scan
// or lookup of a table, a sink's upserts and the table it may create. Types only.

/**
 * A kudu source's row filter, run by the tablet servers: `>=` and `<` bound a range (lower
 * inclusive, upper exclusive), `=` and `in` match values, `isNull` / `isNotNull` test for null.
 * Values in the text forms the source emits (int64 as digits, binary as base64).
 */
export interface KuduPredicateSpec {
  /** The column the predicate tests. */
  column: string;
  /** `=`, `>=`, `<`, `in` (one of `values`), `isNull` or `isNotNull`. */
  op: '=' | '>=' | '<' | 'in' | 'isNull' | 'isNotNull';
  /** For `=`, `>=`, `<`. */
  value?: string | number | boolean;
  /** For `in`. */
  values?: (string | number | boolean)[];
}

/**
 * TLS to every Kudu server: `ca` (a PEM file's path, or the PEM itself) is the cluster's CA,
 * which the servers' certificates must chain to; `verify: false` instead encrypts without
 * checking them. One of the two is required.
 */
export interface KuduTlsSpec {
  /** The cluster's CA certificate: a PEM file's path, or the PEM itself. */
  ca?: string;
  /** `false`: encrypt without checking the servers' certificates (then `ca` is not needed). */
  verify?: boolean;
}

/**
 * A bounded scan of a Kudu table: its tablets split across the slots, each read at a snapshot in
 * primary-key order; the position (tablets finished, rows emitted of the one in progress, its
 * snapshot) is in checkpoint state, so a restored job neither rescans finished tablets nor
 * repeats rows.
 */
export interface KuduSourceSpec {
  /** Master addresses, "host:port" (port default 7051), or a list of them. */
  masters: string[] | string;
  /** Encrypted connections to Kudu ([kudu.md](../../../docs/runtime/kudu.md#tls)); absent: plaintext. */
  tls?: KuduTlsSpec;
  /** The table to scan. */
  table: string;
  /** Columns to read, in this order (default every column). */
  columns?: string[];
  /** Only rows whose columns equal these values. */
  equals?: Record<string, string | number | boolean>;
  /** Only rows satisfying every one of these (ANDed with `equals`). */
  predicates?: KuduPredicateSpec[];
  /**
   * Bound on each Kudu operation, retries included, and on each tablet's scan (default "5m");
   * with `mode: get`, on each fetch of a batch's keys (default "30s").
   */
  timeout?: string;
  /**
   * Only for a source read by `lookup` steps: `copy` (default) holds every row (of `columns`,
   * `equals`), scanned again every `refresh`; `get` fetches the keys records ask for, by primary
   * key, into a bounded cache (`maxEntries`, `ttl`).
   */
  mode?: 'copy' | 'get';
  /** `mode: copy`: how often the table is scanned again. Default 1m. */
  refresh?: string;
  /** `mode: get`: keys cached per slot, rows and misses alike, least recently used evicted first. Default 10000. */
  maxEntries?: number;
  /** `mode: get`: how long a cached row (or miss) is used before Kudu is asked again. Default 1m. */
  ttl?: string;
}

/**
 * Rows upserted into an existing Kudu table by primary key: record fields are column names
 * (a field the table lacks fails the job, naming it). Batched; everything written before a
 * checkpoint barrier is in Kudu before that checkpoint is acknowledged, so a replay after a
 * failure rewrites the same rows.
 */
export interface KuduSinkSpec {
  /** Master addresses, "host:port" (port default 7051), or a list of them. */
  masters: string[] | string;
  /** Encrypted connections to Kudu ([kudu.md](../../../docs/runtime/kudu.md#tls)); absent: plaintext. */
  tls?: KuduTlsSpec;
  /** The table to upsert into. */
  table: string;
  /** Rows per Write batch (default 1000). */
  batchSize?: number;
  /** Bound on each Kudu operation, retries included (default "30s"). */
  timeout?: string;
  /**
   * A CEL bool over the record: true deletes the table's row with the record's key (a retraction
   * or a changelog delete) instead of upserting it. Deleting an absent row is not an error.
   */
  deleteWhen?: string;
  /** Creates the table when it does not exist; when it exists, its columns must match these. */
  createTable?: KuduCreateTableSpec;
}

/** Columns of a Kudu table the sink may create; key columns first, in key order. */
export interface KuduCreateTableSpec {
  /** `type: decimal` takes `precision` (1-38) and `scale` (default 0); `type: varchar` takes `length`. */
  columns: {
    /** Column name (a record field of the same name fills it). */
    name: string;
    /**
     * Kudu column type: int8, int16, int32, int64, float, double, bool, string, binary, unixtime_micros, date,
     * varchar or decimal.
     */
    type: string;
    /** Part of the primary key (key columns come first, in key order). Default false. */
    key?: boolean;
    /** May hold null (never a key column). Default false. */
    nullable?: boolean;
    /** `decimal`: total digits, 1-38. */
    precision?: number;
    /** `decimal`: digits after the point. Default 0. */
    scale?: number;
    /** `varchar`: maximum length in characters. */
    length?: number;
  }[];
  /** Hash buckets over the key columns (default 2; Kudu needs at least 2). */
  hashBuckets?: number;
  /** Key columns to hash by (default every key column). */
  hashColumns?: string[];
  /** Replicas of each tablet (default Kudu's, usually 3; 1 on a single tablet server). */
  replicas?: number;
  /** Range partitions over key columns, each split further by the hash buckets. */
  rangePartition?: KuduRangePartitionSpec;
}

/** A bound or split row: every range column's value (int64 and timestamps also as decimal strings). */
export type KuduRangeRow = Record<string, string | number>;

export interface KuduRangePartitionSpec {
  /** Key columns, in order, whose values place a row in a range. */
  columns: string[];
  /**
   * Ranges, each from `lower` (inclusive) to `upper` (exclusive); a missing bound is unbounded.
   * Default one unbounded range.
   */
  ranges?: { lower?: KuduRangeRow; upper?: KuduRangeRow }[];
  /** Rows at which the ranges are split further. */
  splitRows?: KuduRangeRow[];
}
