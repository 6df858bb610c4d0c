// kudu source: a bounded scan of a Kudu table. The table's tablets, in partition-key order, are
// dealt to the slots (tablet i to slot i mod parallelism); each slot scans its tablets one after
// another at a snapshot (READ_AT_SNAPSHOT, rows in primary-key order), one batch ahead of what
// it has emitted, and ends when they are done.
// Position (checkpoint state): the tablets finished, and for the tablet in progress the rows
// emitted and its snapshot time. A restored job (any parallelism) skips finished tablets and
// rescans a tablet in progress at the same snapshot, skipping the rows already emitted: the same
// snapshot in key order gives the same rows in the same order, so no row is lost or repeated.
// That holds while Kudu retains the snapshot (--tablet_history_max_age_sec, default 15 min);
// older, the rescan fails with Kudu's error rather than read different data. The position counts
// rows rather than holding a key: Kudu reports the last primary key per batch, not per row, so a
// restore re-reads the emitted rows of its tablet to skip them. Within a run, a tablet server
// failing mid-tablet does not restart the tablet: the client resumes the ordered scan after the
// last key the server returned (tablet-scanner.ts). `predicates` run in the tablet servers.
// Values: int64 and unixtime_micros become numbers when exact (|v| ≤ 2^53), else decimal
// strings; binary becomes base64; the rest as the client reads them.
// Kudu unavailable (masters down, a tablet server that refuses or does not answer) is retried
// within `timeout` per operation, with a warning while it lasts and the outage reported to the
// slot (kudu-outage.ts); past the bound the error names the source, its masters and the server.
import { parseDuration } from '../../graph/duration.ts';
import type { KuduSourceSpec } from '../../graph/spec.ts';
import type { PollResult, RawRecords, SourceReader, SourceReaderContext } from '../api.ts';
import type { KuduClient } from './client/kudu-client.ts';
import { clientTls } from './kudu-tls-config.ts';
import { loadKuduClient } from './client/load-client.ts';
import type { KuduTable } from './client/table-metadata.ts';
import type { ScanPredicate } from './client/scan-predicates.ts';
import type { ScannedRow } from './client/tablet-scanner.ts';
import { scanPredicatesOf } from './kudu-spec-values.ts';
import { KuduOutage } from './kudu-outage.ts';

interface KuduPosition {
  kind: 'kudu-tablets';
  table: string;
  done: string[];
  partial: { tablet: string; emitted: number; snapshot: string }[];
}

/** Rows fetched ahead of emission, per slot: one scan batch (~1 MiB) is in flight at most. */
const AHEAD = 2_000;

export function recordOf(row: ScannedRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (typeof v === 'bigint') out[k] = v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v.toString();
    else if (v instanceof Uint8Array) out[k] = Buffer.from(v).toString('base64');
    else out[k] = v;
  }
  return out;
}

/** A tablet's id as Kudu prints it (its bytes are ASCII hex; positions hold them hex-encoded again). */
function tabletName(hexId: string): string {
  const id = Buffer.from(hexId, 'hex').toString('latin1');
  return /^[0-9a-f]+$/.test(id) ? id : hexId;
}

export function masterList(m: string[] | string): string[] {
  return (typeof m === 'string' ? m.split(',') : m).map((x) => x.trim());
}

export class KuduSource implements SourceReader {
  private readonly name: string;
  private readonly spec: KuduSourceSpec;
  private ctx!: SourceReaderContext;
  private client: KuduClient | undefined;
  private table: KuduTable | undefined;
  private predicates: ScanPredicate[] = [];
  private partition = 0;
  private readonly done = new Set<string>();
  private readonly restoredPartial = new Map<string, { emitted: number; snapshot: string }>();
  /** Tablets of this slot still to scan, in order. */
  private queue: string[] = [];
  private current: { tablet: string; emitted: number; snapshot: string | undefined; skip: number } | undefined;
  private scan: AsyncGenerator<ScannedRow[]> | undefined;
  private buffer: Record<string, unknown>[] = [];
  private at = 0;
  private fetching = false;
  private scanEnded = false;
  private failure: unknown;
  private outage: KuduOutage | undefined;

  constructor(name: string, spec: KuduSourceSpec) {
    this.name = name;
    this.spec = spec;
  }

  async open(ctx: SourceReaderContext): Promise<void> {
    this.ctx = ctx;
    this.partition = ctx.addPartition();
    for (const p of ctx.restoredPositions ?? []) {
      const k = p as KuduPosition | undefined;
      if (k?.kind !== 'kudu-tablets' || k.table !== this.spec.table) continue;
      for (const t of k.done) this.done.add(t);
      for (const q of k.partial) {
        const seen = this.restoredPartial.get(q.tablet);
        if (!seen || seen.emitted < q.emitted) this.restoredPartial.set(q.tablet, q);
      }
    }
    const masters = masterList(this.spec.masters);
    const timeoutMs = parseDuration(this.spec.timeout) ?? 300_000;
    const outage = new KuduOutage({
      role: 'source',
      name: this.name,
      table: this.spec.table,
      masters: masters.join(','),
      timeoutMs,
      timeoutText: this.spec.timeout ?? '5m',
      logger: ctx.logger,
      ...(ctx.reportOutage ? { report: ctx.reportOutage } : {}),
    });
    this.outage = outage;
    this.client = new (await loadKuduClient())({
      masters,
      operationTimeoutMs: timeoutMs,
      onRetry: (what, err, startedAt) => outage.retry(what, err, startedAt),
      ...clientTls(this.spec.tls),
    });
    let tablets: string[];
    try {
      this.table = await this.client.openTable(this.spec.table);
      this.predicates = scanPredicatesOf(this.name, this.table, this.spec.predicates);
      tablets = await this.client.tabletIds(this.table);
    } catch (err) {
      throw outage.failed(`opening table "${this.spec.table}"`, err);
    }
    outage.ok();
    this.queue = tablets.filter((t, i) => i % ctx.parallelism === ctx.slot && !this.done.has(t));
    ctx.logger.info(
      { source: this.name, table: this.spec.table, tablets: tablets.length, mine: this.queue.length },
      'kudu source opened',
    );
    this.fetch();
  }

  poll(out: RawRecords, max: number): PollResult {
    if (this.failure !== undefined) throw this.failure;
    let n = 0;
    while (n < max && this.at < this.buffer.length) {
      out.add(this.buffer[this.at++]!, this.partition);
      this.current!.emitted++;
      n++;
    }
    if (this.at >= this.buffer.length) {
      this.buffer = [];
      this.at = 0;
      if (this.scanEnded && this.current) {
        // Every row of the tablet is emitted: it is finished.
        this.done.add(this.current.tablet);
        this.current = undefined;
        this.scan = undefined;
        this.scanEnded = false;
      }
      this.fetch();
    }
    this.fetch();
    if (!this.current && this.queue.length === 0 && this.buffer.length === 0) {
      this.ctx.finishPartition(this.partition);
      return n > 0 ? 'data' : 'end';
    }
    return n > 0 ? 'data' : 'empty';
  }

  snapshotPosition(): unknown {
    const partial: KuduPosition['partial'] = [];
    for (const [tablet, p] of this.restoredPartial) if (!this.done.has(tablet)) partial.push({ tablet, ...p });
    const c = this.current;
    if (c?.snapshot !== undefined) {
      const i = partial.findIndex((p) => p.tablet === c.tablet);
      if (i >= 0) partial.splice(i, 1);
      if (c.emitted > 0) partial.push({ tablet: c.tablet, emitted: c.emitted, snapshot: c.snapshot });
    }
    return { kind: 'kudu-tablets', table: this.spec.table, done: [...this.done], partial } satisfies KuduPosition;
  }

  /** Fetches the next batch of the current tablet (starting the next tablet when none), unless one is coming. */
  private fetch(): void {
    if (this.fetching || this.scanEnded || this.failure !== undefined || this.buffer.length - this.at >= AHEAD) return;
    if (!this.current) {
      const tablet = this.queue.shift();
      if (tablet === undefined) return;
      const restored = this.restoredPartial.get(tablet);
      this.current = {
        tablet,
        emitted: restored?.emitted ?? 0,
        snapshot: restored?.snapshot,
        skip: restored?.emitted ?? 0,
      };
      const current = this.current;
      this.scan = this.client!.scan(this.table!, {
        ...(this.spec.columns ? { columns: this.spec.columns } : {}),
        ...(this.spec.equals ? { equals: this.spec.equals } : {}),
        predicates: this.predicates,
        tablets: [tablet],
        snapshot: restored?.snapshot ?? true,
        timeoutMs: parseDuration(this.spec.timeout) ?? 300_000,
        onSnapshot: (_t, ht) => {
          current.snapshot ??= ht;
        },
      });
    }
    const scan = this.scan!;
    const current = this.current;
    this.fetching = true;
    scan
      .next()
      .then((r) => {
        this.outage?.ok();
        if (r.done) this.scanEnded = true;
        else {
          let rows = r.value;
          if (current.skip > 0) {
            const skipped = Math.min(current.skip, rows.length);
            current.skip -= skipped;
            rows = rows.slice(skipped);
          }
          for (const row of rows) this.buffer.push(recordOf(row));
        }
      })
      .catch((err: unknown) => {
        this.failure ??= this.outage ? this.outage.failed(`scanning tablet ${tabletName(current.tablet)}`, err) : err;
      })
      .finally(() => {
        this.fetching = false;
        this.fetch();
        this.ctx.wake();
      });
  }

  async close(): Promise<void> {
    await this.scan?.return(undefined).catch(() => undefined);
    await this.client?.close();
  }
}
