// Scans a table tablet by tablet at the leader replica: a new scan per tablet with the
// projection and predicates (scan-predicates.ts), then continuation calls by scanner id until the
// server has no more results. Opening a tablet's scan is retried with fresh locations while its
// leader is unreachable, moved or not running (a tablet server restarting): nothing has been read
// yet. READ_LATEST by default; with `snapshot`, READ_AT_SNAPSHOT (at the given hybrid time, or one
// the server picks and reports) and rows in primary-key order (ORDER mode), so the same scan
// repeated returns the same rows in the same order while the snapshot is retained.
// Resuming: an ordered scan keeps the last primary key the server reported (opaque, in Kudu's key
// encoding) and its snapshot; when the server holding the scanner fails mid-tablet (connection
// lost, scanner expired or gone, tablet moved or not running) a new scan opens at the tablet's
// current leader at the same snapshot after that key, so no row is returned twice or skipped. An
// unordered scan cannot say where it was: such a failure fails it.
// Keep-alive: while the consumer holds a batch (backpressure), a timer sends ScannerKeepAlive
// every `keepAliveMs`, below the server's --scanner_ttl_ms (default 60 s), so the scanner outlives
// a slow consumer.
// Rows arrive row-wise in a sidecar: each projected column's cell in order, then a null bitmap
// when the projection has a nullable column; string/binary cells point into a second sidecar.
import { readCell, type CellValue } from './cell-values.ts';
import type { ConnectionPool } from './connection-pool.ts';
import { sidecar } from './framing.ts';
import { describeStatus, isRetriableServiceError, kuduError, tserverErrors, type ServiceError } from './kudu-errors.ts';
import { messageType } from './messages.ts';
import { remainingMs, withRetries, type Deadline } from './retry.ts';
import { isRetriable, type KuduConnection, type Response } from './connection.ts';
import { TributaryError } from '../../../errors.ts';
import { predicateWire, type PredicateWire, type ScanPredicate } from './scan-predicates.ts';
import { cellSize, Schema, type ColumnSchemaWire } from './schema.ts';
import type { KuduTable } from './table-metadata.ts';
import type { TabletLocations } from './tablet-locations.ts';

interface NewScan {
  tablet_id: Uint8Array;
  projected_columns: ColumnSchemaWire[];
  read_mode: number;
  snap_timestamp?: string;
  order_mode?: number;
  last_primary_key?: Uint8Array;
  column_predicates?: PredicateWire[];
}
interface ScanRequest {
  scanner_id?: Uint8Array;
  new_scan_request?: NewScan;
  call_seq_id: number;
  batch_size_bytes?: number;
  close_scanner?: boolean;
}
interface ScanResponse {
  error?: ServiceError;
  scanner_id?: Uint8Array;
  has_more_results?: boolean;
  data?: { num_rows?: number; rows_sidecar?: number; indirect_data_sidecar?: number };
  snap_timestamp?: string;
  last_primary_key?: Uint8Array;
}
const ScanRequestPB = messageType<ScanRequest>('ScanRequestPB');
const ScanResponsePB = messageType<ScanResponse>('ScanResponsePB');
const KeepAliveRequestPB = messageType<{ scanner_id: Uint8Array }>('ScannerKeepAliveRequestPB');
const readLatest = 1;
const readAtSnapshot = 2;
const ordered = 2;
const service = 'kudu.tserver.TabletServerService';

/** A location to look up again: no leader yet, or the replica asked is not (or no longer) it. */
class NoLeaderYet extends TributaryError {}

export type ScannedRow = Record<string, CellValue | null>;

export interface ScanOptions {
  /** Column names to return, in this order; default every column. */
  readonly columns?: readonly string[];
  readonly batchSizeBytes?: number;
  /** Rows whose column equals the value (key columns or any other), all of them. */
  readonly equals?: Readonly<Record<string, CellValue>>;
  /**
   * Rows whose column is one of the values (Kudu's InList predicate; the server sorts and
   * de-duplicates them). An empty list matches nothing.
   */
  readonly in?: Readonly<Record<string, readonly CellValue[]>>;
  /** Further predicates (ranges, null checks, ...), all of which a row must satisfy. */
  readonly predicates?: readonly ScanPredicate[];
  /** How often a scanner waiting on the consumer is kept alive; 0 never. Default 15 s. */
  readonly keepAliveMs?: number;
  /**
   * Read at a snapshot in primary-key order: `true` at one the server picks (reported through
   * `onSnapshot`), or a hybrid time (decimal string) from an earlier scan.
   */
  readonly snapshot?: true | string;
  /** Only these tablets (hex ids from `tabletIds`); default all. */
  readonly tablets?: readonly string[];
  onSnapshot?(tabletHex: string, hybridTime: string): void;
}

export function projectionOf(table: KuduTable, columns: readonly string[] | undefined): Schema {
  if (!columns) return table.schema;
  return new Schema(
    columns.map((n) => {
      const i = table.schema.indexOf(n);
      if (i === undefined) throw kuduError('TRIB_KUDU_SCHEMA', `table "${table.name}" has no column "${n}" to project`);
      return table.schema.columns[i]!;
    }),
  );
}

export async function* scanTablets(
  pool: ConnectionPool,
  locations: TabletLocations,
  table: KuduTable,
  options: ScanOptions,
  d: Deadline,
): AsyncGenerator<ScannedRow[]> {
  const projection = projectionOf(table, options.columns);
  // A table just created may have tablets still electing a leader: ask again until each has one.
  const tablets = await withRetries(
    d,
    async () => {
      const all = await locations.all(table.name, table.id, d);
      if (all.some((t) => !t.leader)) {
        locations.invalidate(table.id);
        throw new NoLeaderYet('TRIB_KUDU_TSERVER', `kudu: table "${table.name}": a tablet has no leader yet`);
      }
      return all;
    },
    (err) => err instanceof NoLeaderYet || isRetriable(err),
  );
  const only = options.tablets ? new Set(options.tablets) : undefined;
  for (const tablet of tablets) {
    if (only && !only.has(tablet.id.toString('hex'))) continue;
    yield* scanTablet(pool, locations, table, tablet.id, projection, options, d);
  }
}

/** The tablets' ids (hex), in partition-key order: the same list for every caller. */
export async function tabletIds(locations: TabletLocations, table: KuduTable, d: Deadline): Promise<string[]> {
  return (await locations.all(table.name, table.id, d)).map((t) => t.id.toString('hex'));
}

function newScan(
  table: KuduTable,
  tabletId: Buffer,
  projection: Schema,
  options: ScanOptions,
  resume: { snapshot?: string; lastKey?: Uint8Array },
): NewScan {
  const scan: NewScan = { tablet_id: tabletId, projected_columns: projection.toWire(), read_mode: readLatest };
  if (options.snapshot !== undefined) {
    scan.read_mode = readAtSnapshot;
    scan.order_mode = ordered;
    const at = resume.snapshot ?? (options.snapshot === true ? undefined : options.snapshot);
    if (at !== undefined) scan.snap_timestamp = at;
    if (resume.lastKey) scan.last_primary_key = resume.lastKey;
  }
  const predicates: ScanPredicate[] = Object.entries(options.equals ?? {}).map(([column, value]) => ({
    column,
    op: '=',
    value,
  }));
  for (const [column, values] of Object.entries(options.in ?? {})) predicates.push({ column, op: 'in', values });
  predicates.push(...(options.predicates ?? []));
  if (predicates.length > 0) scan.column_predicates = predicates.map((p) => predicateWire(table, p));
  return scan;
}

/** Sends a tablet's first Scan call to its leader, looking the leader up again until one answers. */
async function openScan(
  pool: ConnectionPool,
  locations: TabletLocations,
  table: KuduTable,
  tabletId: Buffer,
  request: ScanRequest,
  d: Deadline,
): Promise<{ conn: KuduConnection; answer: Response; res: ScanResponse }> {
  return withRetries(
    d,
    async (left) => {
      const tablet = (await locations.all(table.name, table.id, d)).find((t) => t.id.equals(tabletId));
      if (!tablet)
        throw kuduError('TRIB_KUDU_TSERVER', `table "${table.name}": tablet ${tabletId.toString('hex')} is gone`);
      if (!tablet.leader) {
        locations.invalidate(table.id);
        throw new NoLeaderYet('TRIB_KUDU_TSERVER', `kudu: table "${table.name}": a tablet has no leader yet`);
      }
      try {
        const conn = await pool.get(tablet.leader.host, tablet.leader.port);
        // A call waits the attempt's bound (a third of the timeout, 1–10 s): a hung server leaves time
        // to retry (another leader, or the same one thawed) within the deadline.
        const answer = await conn.call(service, 'Scan', ScanRequestPB.encode(request), Math.min(left, d.attemptMs));
        const res = ScanResponsePB.decode(answer.body);
        if (
          res.error &&
          (isRetriableServiceError('tserver', res.error) || res.error.code === tserverErrors.TABLET_NOT_FOUND)
        ) {
          throw new NoLeaderYet(
            'TRIB_KUDU_TSERVER',
            `kudu: scanning table "${table.name}" at ${conn.peer}: ${describeStatus(res.error.status)}`,
          );
        }
        return { conn, answer, res };
      } catch (err) {
        if (err instanceof NoLeaderYet || isRetriable(err)) locations.invalidate(table.id);
        throw err;
      }
    },
    (err) => err instanceof NoLeaderYet || isRetriable(err),
  );
}

/** Why a continuation failed, when the scan can go on elsewhere: the scanner or its server is gone. */
function resumableFailure(err: unknown, res: ScanResponse | undefined): boolean {
  if (res?.error) {
    return (
      res.error.code === tserverErrors.SCANNER_EXPIRED ||
      res.error.code === tserverErrors.TABLET_NOT_FOUND ||
      isRetriableServiceError('tserver', res.error)
    );
  }
  return isRetriable(err);
}

async function* scanTablet(
  pool: ConnectionPool,
  locations: TabletLocations,
  table: KuduTable,
  tabletId: Buffer,
  projection: Schema,
  options: ScanOptions,
  d: Deadline,
): AsyncGenerator<ScannedRow[]> {
  const batchSizeBytes = options.batchSizeBytes ?? 1 << 20;
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const canResume = options.snapshot !== undefined;
  // Where an ordered scan is: its snapshot once the server reported it, the last key returned.
  const resume: { snapshot?: string; lastKey?: Uint8Array } = {};
  for (;;) {
    const opened = await openScan(
      pool,
      locations,
      table,
      tabletId,
      {
        new_scan_request: newScan(table, tabletId, projection, options, resume),
        call_seq_id: 0,
        batch_size_bytes: batchSizeBytes,
      },
      d,
    );
    // Continuations go to the server that holds the scanner.
    const conn = opened.conn;
    let answer: Response | undefined = opened.answer;
    let res: ScanResponse | undefined = opened.res;
    // Only the first answer carries the scanner id; continuations name it from then on.
    let scannerId: Uint8Array | undefined;
    let finished = false;
    let failure: unknown;
    // When the call that failed was sent: a continuation that timed out waited since then.
    let callAt = Date.now();
    try {
      for (let seq = 1; ; seq++) {
        if (res?.error) {
          failure = kuduError(
            'TRIB_KUDU_TSERVER',
            `scanning table "${table.name}" at ${conn.peer}: ${describeStatus(res.error.status)}`,
          );
          break;
        }
        scannerId = res!.scanner_id ?? scannerId;
        if (res!.snap_timestamp !== undefined && resume.snapshot === undefined) {
          resume.snapshot = res!.snap_timestamp;
          options.onSnapshot?.(tabletId.toString('hex'), res!.snap_timestamp);
        }
        finished = res!.has_more_results !== true;
        const rows = res!.data ? decodeRows(projection, res!.data, answer!.rest, answer!.sidecarOffsets) : [];
        if (res!.last_primary_key !== undefined && res!.last_primary_key.length > 0)
          resume.lastKey = res!.last_primary_key;
        if (rows.length > 0) {
          const keepAlive = finished ? undefined : keepScannerAlive(conn, scannerId, keepAliveMs);
          try {
            yield rows;
          } finally {
            if (keepAlive) clearInterval(keepAlive);
          }
        }
        if (finished) return;
        if (!scannerId)
          throw kuduError('TRIB_KUDU_PROTOCOL', `scan of table "${table.name}" has more results but no scanner id`);
        const left = remainingMs(d);
        if (left <= 0) throw kuduError('TRIB_KUDU_TIMEOUT', `scan of table "${table.name}" did not complete in time`);
        const request: ScanRequest = { scanner_id: scannerId, call_seq_id: seq, batch_size_bytes: batchSizeBytes };
        res = undefined;
        callAt = Date.now();
        try {
          answer = await conn.call(service, 'Scan', ScanRequestPB.encode(request), Math.min(left, d.attemptMs));
          res = ScanResponsePB.decode(answer.body);
        } catch (err) {
          failure = err;
          break;
        }
      }
    } finally {
      // A consumer that stops early (or a failure) leaves a server-side scanner: close it rather
      // than let it hold resources until it expires. Best effort: the scan's outcome stands.
      if (!finished && scannerId) {
        const close = ScanRequestPB.encode({ scanner_id: scannerId, call_seq_id: 0, close_scanner: true });
        await conn.call(service, 'Scan', close, 5_000).catch(() => undefined);
      }
    }
    if (!canResume || resume.snapshot === undefined || !resumableFailure(failure, res)) throw failure;
    // No time left to reopen: the timeout names what failed last (the server that did not answer).
    if (remainingMs(d) <= 0)
      throw kuduError(
        'TRIB_KUDU_TIMEOUT',
        `${d.what} did not complete in time; last error: ${String(failure)}`,
        failure,
      );
    // Retried: the caller hears of it (a warning once the trouble lasts, the outage reported).
    d.onRetry?.(d.what, failure, callAt);
    // The leader may have moved with the failure: look the tablet up again before reopening.
    locations.invalidate(table.id);
  }
}

/** Sends ScannerKeepAlive every `everyMs` until cleared; a failure shows on the next continuation. */
function keepScannerAlive(
  conn: KuduConnection,
  scannerId: Uint8Array | undefined,
  everyMs: number,
): NodeJS.Timeout | undefined {
  if (!scannerId || everyMs <= 0) return undefined;
  const request = KeepAliveRequestPB.encode({ scanner_id: scannerId });
  const timer = setInterval(() => {
    conn.call(service, 'ScannerKeepAlive', request, Math.min(everyMs, 5_000)).catch(() => undefined);
  }, everyMs);
  // A consumer that abandons the generator without closing it must not keep the process alive.
  timer.unref();
  return timer;
}

export function decodeRows(
  projection: Schema,
  data: NonNullable<ScanResponse['data']>,
  rest: Uint8Array,
  offsets: readonly number[],
): ScannedRow[] {
  const count = data.num_rows ?? 0;
  if (count === 0 || data.rows_sidecar === undefined) return [];
  const block = Buffer.from(sidecar(rest, offsets, data.rows_sidecar));
  const indirect =
    data.indirect_data_sidecar === undefined
      ? Buffer.alloc(0)
      : Buffer.from(sidecar(rest, offsets, data.indirect_data_sidecar));
  const cells = projection.columns.reduce((n, c) => n + cellSize[c.type], 0);
  const width = cells + (projection.hasNullable ? Math.ceil(projection.columns.length / 8) : 0);
  if (block.length !== count * width) {
    throw kuduError('TRIB_KUDU_PROTOCOL', `row block of ${block.length} bytes for ${count} rows of ${width} bytes`);
  }
  const rows: ScannedRow[] = [];
  for (let r = 0; r < count; r++) {
    const base = r * width;
    const row: ScannedRow = {};
    let at = base;
    projection.columns.forEach((c, i) => {
      const isNull = c.nullable && (block[base + cells + (i >> 3)]! & (1 << (i & 7))) !== 0;
      row[c.name] = isNull ? null : readCell(c, block, at, indirect);
      at += cellSize[c.type];
    });
    rows.push(row);
  }
  return rows;
}
