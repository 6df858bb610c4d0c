// A lookup table: the rows a loader returns (a druid source's SQL query, druid/druid-lookup-loader.ts;
// a kudu source's scan, kudu/kudu-lookup-loader.ts) keyed by its key columns (one, or a tuple),
// re-loaded every `refresh` (default 1m). Each slot holds its own copy (p loads per refresh).
// Invariants: open() fails the job when the FIRST load fails (no table, no enrichment —
// the error is the loader's, naming the source and carrying the store's message); a later failed
// refresh keeps the last good table, is logged and counted (result="failed"), and the next tick
// retries. With `outage` (a druid table), a store that is unavailable (unreachable, 5xx) is
// ridden out instead (lookup-outage.ts): the first load and refreshes are retried with backoff,
// warned about and reported as an outage, and past the bound the table fails: open() throws,
// and after a failed refresh the lookup step throws at its next records (throwIfFailed). A
// refresh replaces the whole map at once, so a record never sees half a table. The table is not
// checkpointed: after a restore it is loaded again (lookups read the current table).
import type { Logger } from 'pino';
import { parseDuration } from '../graph/duration.ts';

import { keyString, rowKeyOf } from './lookup-key.ts';
import { LookupOutage, type LookupOutageOptions } from './lookup-outage.ts';
import type { Rec } from '../core/record.ts';

export { keyString };

export interface LookupTableOptions {
  /** The table's source name (for messages and metrics). */
  name: string;
  /**
   * Loads every row (a druid source's query, a kudu source's scan); tells `trouble` of a failure
   * it retries itself within the load (lookup-outage.ts), so the outage shows before it gives up.
   */
  load: (trouble?: LoadTrouble) => Promise<Rec[]>;
  /** How often to reload (the source's `refresh`); default 1m. */
  refresh?: string | undefined;
  /** Columns holding the key (several: a composite key, see lookup-key.ts); rows without one are skipped. */
  columns: readonly string[];
  logger: Logger;
  onRefresh?: (result: 'ok' | 'failed') => void;
  /** How an unavailable store is ridden out; absent: every failure is handled as above. */
  outage?: LookupOutageOptions | undefined;
}

/** A failure a load retries itself, and when the trouble began. */
export type LoadTrouble = (e: unknown, since: number) => void;

export const DEFAULT_REFRESH_MS = 60_000;

/** Rows by their lookup key of `columns` (lookup-key.ts); a row missing a key part is left out. */
export function indexRows(rows: readonly Rec[], columns: readonly string[]): Map<string, Rec> {
  const m = new Map<string, Rec>();
  for (const r of rows) {
    const k = rowKeyOf(r, columns);
    if (k !== undefined) m.set(k, r);
  }
  return m;
}

export class LookupTable {
  private readonly o: LookupTableOptions;
  private rows = new Map<string, Rec>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing = false;
  private everyMs = DEFAULT_REFRESH_MS;
  private opened = false;
  private closed = false;
  private readonly outage: LookupOutage | undefined;
  /** Set once the store stayed unavailable past the bound after the table loaded. */
  private fatal: Error | undefined;
  failures = 0;
  loadedAt = 0;

  constructor(o: LookupTableOptions) {
    this.o = o;
    this.outage = o.outage && new LookupOutage(o.outage, o.name, o.logger);
  }

  get size(): number {
    return this.rows.size;
  }

  get(key: string): Rec | undefined {
    return this.rows.get(key);
  }

  async open(): Promise<void> {
    for (;;) {
      try {
        this.rows = indexRows(await this.o.load(this.trouble(true)), this.o.columns);
        break;
      } catch (e) {
        if (!this.outage?.isTransient(e) || this.closed) throw e;
        const delay = this.outage.failed(e, true);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    this.outage?.recovered();
    this.loadedAt = Date.now();
    this.o.onRefresh?.('ok');
    this.o.logger.info({ table: this.o.name, rows: this.rows.size }, 'lookup table loaded');
    this.everyMs = parseDuration(this.o.refresh ?? '1m') ?? DEFAULT_REFRESH_MS;
    this.opened = true;
    this.schedule(this.everyMs);
  }

  private trouble(first: boolean): LoadTrouble | undefined {
    const outage = this.outage;
    return outage && ((e, since) => outage.trouble(e, first, since));
  }

  /** The table's failure once its store stayed unavailable past the bound (TRIB_LOOKUP_UNAVAILABLE). */
  throwIfFailed(): void {
    if (this.fatal) throw this.fatal;
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.opened || this.closed || this.fatal) return;
    this.timer = setTimeout(() => void this.refresh(), ms);
    this.timer.unref();
  }

  /** One refresh; failures keep the last table. Resolves either way. */
  async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    let next = this.everyMs;
    try {
      const rows = indexRows(await this.o.load(this.trouble(false)), this.o.columns);
      this.rows = rows;
      this.loadedAt = Date.now();
      this.outage?.recovered();
      this.o.onRefresh?.('ok');
    } catch (e) {
      this.failures++;
      this.o.onRefresh?.('failed');
      if (this.outage?.isTransient(e)) {
        try {
          next = Math.min(this.outage.failed(e, false), this.everyMs);
        } catch (fatal) {
          this.fatal = fatal as Error;
          this.o.logger.error(
            { table: this.o.name, err: this.fatal.message },
            'lookup table unavailable: the job fails',
          );
        }
        return;
      }
      this.o.logger.warn(
        { table: this.o.name, failures: this.failures, err: (e as Error).message },
        'lookup table refresh failed; keeping the last table',
      );
    } finally {
      this.refreshing = false;
      this.schedule(next);
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
