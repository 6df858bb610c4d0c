// The Kudu client's entry point: masters by address, a connection pool, table metadata and
// tablet locations cached, and every operation bounded by a deadline (operationTimeoutMs).
import { ConnectionPool, parseHostPort } from './connection-pool.ts';
import { kuduError } from './kudu-errors.ts';
import { MasterClient } from './master-client.ts';
import { deadline, type Deadline, type OnRetry } from './retry.ts';
import type { Operation } from './row-operations.ts';
import { createTable, deleteTable, describeTable, type CreateTableSpec, type KuduTable } from './table-metadata.ts';
import { TabletLocations } from './tablet-locations.ts';
import { scanTablets, tabletIds, type ScannedRow, type ScanOptions } from './tablet-scanner.ts';
import { writeOperations } from './tablet-writer.ts';
import { getRows, type PointGetOptions } from './point-gets.ts';
import type { Row } from './cell-values.ts';
import type { KuduTlsOptions } from './tls-handshake.ts';

/** A TLS configuration that names its trust: a CA, or an explicit verify: false (never both, never neither). */
function checkTls(tls: KuduTlsOptions): KuduTlsOptions {
  const hasCa = tls.ca !== undefined && tls.ca.length > 0;
  if (tls.verify === false && hasCa) {
    throw kuduError('TRIB_KUDU_CONFIG', 'tls: give ca (verify against it) or verify: false, not both');
  }
  if (tls.verify !== false && !hasCa) {
    throw kuduError('TRIB_KUDU_CONFIG', "tls: ca (the cluster's CA certificate, PEM) is required unless verify: false");
  }
  return tls;
}

export interface KuduClientOptions {
  /** Master addresses, `host:port` (port default 7051). */
  readonly masters: readonly string[];
  /** The SASL PLAIN user name the servers see; default `tributary`. */
  readonly user?: string;
  readonly connectTimeoutMs?: number;
  /** Bound on each operation, retries included; default 30 s. */
  readonly operationTimeoutMs?: number;
  /** Encrypt every connection, trusting `ca` (PEM) or, with `verify: false`, any certificate; absent: plaintext. */
  readonly tls?: KuduTlsOptions;
  /** Told of every failed attempt of any operation that is retried within its deadline. */
  readonly onRetry?: OnRetry;
}

export class KuduClient {
  private readonly pool: ConnectionPool;
  private readonly master: MasterClient;
  private readonly locations: TabletLocations;
  private readonly timeoutMs: number;
  private readonly onRetry: OnRetry | undefined;

  constructor(options: KuduClientOptions) {
    if (options.masters.length === 0) throw kuduError('TRIB_KUDU_CONFIG', 'no master addresses given');
    this.timeoutMs = options.operationTimeoutMs ?? 30_000;
    this.onRetry = options.onRetry;
    this.pool = new ConnectionPool({
      user: options.user ?? 'tributary',
      // A hung server accepts the connection and never negotiates: within one attempt's bound.
      connectTimeoutMs: options.connectTimeoutMs ?? Math.min(5_000, Math.max(1_000, Math.floor(this.timeoutMs / 3))),
      ...(options.tls === undefined ? {} : { tls: checkTls(options.tls) }),
    });
    this.master = new MasterClient(
      options.masters.map((m) => parseHostPort(m, 7051)),
      this.pool,
    );
    this.locations = new TabletLocations(this.master);
  }

  /** The table's schema and partitioning from the master (TRIB_KUDU_TABLE_NOT_FOUND if absent). */
  openTable(name: string): Promise<KuduTable> {
    return describeTable(this.master, name, this.deadline(this.timeoutMs, `opening table "${name}"`));
  }

  async createTable(spec: CreateTableSpec): Promise<KuduTable> {
    await createTable(this.master, spec, this.deadline(this.timeoutMs, `creating table "${spec.name}"`));
    return this.openTable(spec.name);
  }

  deleteTable(name: string): Promise<void> {
    return deleteTable(this.master, name, this.deadline(this.timeoutMs, `deleting table "${name}"`));
  }

  /** Applies the operations (one Write per tablet); all succeed, or it throws naming what failed. */
  write(table: KuduTable, ops: readonly Operation[]): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    return writeOperations(
      this.pool,
      this.locations,
      table,
      ops,
      this.deadline(this.timeoutMs, `writing ${ops.length} rows to "${table.name}"`),
    );
  }

  upsert(table: KuduTable, rows: readonly Operation['row'][]): Promise<void> {
    return this.write(
      table,
      rows.map((row) => ({ kind: 'upsert', row })),
    );
  }

  /** Batches of rows, tablet by tablet; the whole scan is bounded by `timeoutMs` (default the operation timeout). */
  scan(table: KuduTable, options: ScanOptions & { timeoutMs?: number } = {}): AsyncGenerator<ScannedRow[]> {
    return scanTablets(
      this.pool,
      this.locations,
      table,
      options,
      this.deadline(options.timeoutMs ?? this.timeoutMs, `scanning "${table.name}"`),
    );
  }

  /**
   * The rows with these primary keys (each key: every key column's value): one in-list scan per
   * tablet holding any of them, in parallel; keys without a row are simply absent.
   */
  get(
    table: KuduTable,
    keys: readonly Row[],
    options: PointGetOptions & { timeoutMs?: number } = {},
  ): Promise<ScannedRow[]> {
    return getRows(
      this.pool,
      this.locations,
      table,
      keys,
      options,
      this.deadline(options.timeoutMs ?? this.timeoutMs, `getting ${keys.length} rows of "${table.name}"`),
    );
  }

  /** The table's tablet ids (hex) in partition-key order, e.g. to split a scan. */
  tabletIds(table: KuduTable): Promise<string[]> {
    return tabletIds(this.locations, table, this.deadline(this.timeoutMs, `locating tablets of "${table.name}"`));
  }

  private deadline(timeoutMs: number, what: string): Deadline {
    return deadline(timeoutMs, what, this.onRetry);
  }

  async close(): Promise<void> {
    await this.pool.closeAll();
  }
}
