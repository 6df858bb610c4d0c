// A lookup table's store (Druid, …) unreachable or failing with a server error: how its table
// rides it out (connectors/lookup-table.ts). Invariants: the first failure warns at once and
// reports the outage (core/outage.ts); later ones warn at most every 30 s, never once per retry;
// retries back off from 0.5 s doubling to 5 s, never past the deadline; once the store has
// failed for the bound (`unavailableTimeout`) the next failure throws TRIB_LOOKUP_UNAVAILABLE
// naming the table and the store's URL; a success after failures logs the recovery and clears
// the outage. `since` is the first failure of the outage and does not move while it lasts.
import type { Logger } from 'pino';
import type { Dependency, ReportOutage } from '../core/outage.ts';
import { TributaryError } from '../errors.ts';

export interface LookupOutageOptions {
  dependency: Dependency;
  /** The store as users configured it, e.g. the druid source's url (no credentials). */
  target: string;
  /** Whether a load error is the store being unavailable (retried) rather than a refusal (not retried). */
  isTransient: (e: unknown) => boolean;
  /** How long the store may fail before the table gives up. */
  timeoutMs: number;
  /** The option and its value, for messages: `unavailableTimeout 5m`. */
  timeoutText: string;
  /** Where the slot collects outages; absent in tests that build a table alone. */
  report?: ReportOutage | undefined;
}

export const LOOKUP_RETRY_INITIAL_MS = 500;
export const LOOKUP_RETRY_MAX_MS = 5_000;
export const LOOKUP_WARN_EVERY_MS = 30_000;

const oneLine = (e: unknown): string => String((e as Error)?.message ?? e).replace(/\s+/g, ' ');
const named = (d: string): string => d.charAt(0).toUpperCase() + d.slice(1);

export class LookupOutage {
  private since: number | undefined;
  private attempts = 0;
  private lastWarnAt = 0;

  private readonly o: LookupOutageOptions;
  private readonly table: string;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(o: LookupOutageOptions, table: string, logger: Logger, now: () => number = Date.now) {
    this.o = o;
    this.table = table;
    this.logger = logger;
    this.now = now;
  }

  isTransient(e: unknown): boolean {
    return this.o.isTransient(e);
  }

  /**
   * A transient failure of a load (`first`: the table has never loaded). Returns how long to
   * wait before the next attempt; throws TRIB_LOOKUP_UNAVAILABLE once the bound has passed.
   */
  failed(e: unknown, first: boolean): number {
    // The loader's message names the table already; said once per line is enough.
    const err = oneLine(e).replace(`lookup table "${this.table}": `, '');
    const store = `${named(this.o.dependency)} at ${this.o.target}`;
    const now = this.now();
    this.since ??= now;
    this.attempts++;
    const down = now - this.since;
    if (down >= this.o.timeoutMs)
      throw new TributaryError(
        'TRIB_LOOKUP_UNAVAILABLE',
        `lookup table "${this.table}": ${store} unavailable for ` +
          `${(down / 1000).toFixed(1)} s (${this.o.timeoutText}, ${this.attempts} attempts): ${err}`,
        { cause: e },
      );
    const delay = Math.min(
      LOOKUP_RETRY_INITIAL_MS * 2 ** Math.min(this.attempts - 1, 10),
      LOOKUP_RETRY_MAX_MS,
      this.o.timeoutMs - down,
    );
    const bound = `fails after ${this.o.timeoutText}`;
    this.o.report?.({
      dependency: this.o.dependency,
      component: `lookup "${this.table}"`,
      target: this.o.target,
      since: new Date(this.since).toISOString(),
      error: err,
      bound,
    });
    if (this.attempts === 1 || now - this.lastWarnAt >= LOOKUP_WARN_EVERY_MS) {
      this.lastWarnAt = now;
      this.logger.warn(
        {
          table: this.table,
          target: this.o.target,
          attempts: this.attempts,
          downMs: down,
          err,
        },
        `lookup table "${this.table}": ${store} unavailable; ` +
          (first ? 'the job waits for its first load' : 'keeping the last table') +
          `, retrying with backoff (next in ${delay} ms, at most every ${LOOKUP_RETRY_MAX_MS} ms; ` +
          `logged again at most every ${LOOKUP_WARN_EVERY_MS / 1000} s); ${bound}: ${err}`,
      );
    }
    return delay;
  }

  /** A load succeeded: ends the outage, if any. */
  recovered(): void {
    if (this.since === undefined) return;
    const down = this.now() - this.since;
    this.logger.info(
      { table: this.table, target: this.o.target, attempts: this.attempts, downMs: down },
      `lookup table "${this.table}": ${named(this.o.dependency)} at ${this.o.target} answers again after ` +
        `${(down / 1000).toFixed(1)} s and ${this.attempts} failed attempts`,
    );
    this.since = undefined;
    this.attempts = 0;
    this.lastWarnAt = 0;
    this.o.report?.(undefined);
  }
}
