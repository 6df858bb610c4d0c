// A lookup table's store (Druid, …) unreachable or failing with a server error: how its table
// rides it out (connectors/lookup-table.ts). Invariants: the first failure warns at once and
// reports the outage (core/outage.ts); later ones warn at most every 30 s, never once per retry;
// retries back off from 0.5 s doubling to 5 s, never past the deadline; once the store has
// failed for the bound (`unavailableTimeout`) the next failure throws TRIB_LOOKUP_UNAVAILABLE
// naming the table and the store's URL; a success after failures logs the recovery and clears
// the outage. A loader whose calls retry within one load (Kudu's: each call gives up after a third
// of the bound) tells of that trouble as it happens (trouble): warned and reported the same way,
// counted from when the trouble began, so the load failing at the bound ends the outage in time.
// The clock (since, attempts, backoff, warning period) is outage-clock.ts's.
import type { Logger } from 'pino';
import type { Dependency, ReportOutage } from '../core/outage.ts';
import { TributaryError } from '../errors.ts';
import { OutageClock, RETRY_MAX_MS, type OutageStep } from './outage-clock.ts';

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

export const LOOKUP_WARN_EVERY_MS = 30_000;

const oneLine = (e: unknown): string => String((e as Error)?.message ?? e).replace(/\s+/g, ' ');
const named = (d: string): string => d.charAt(0).toUpperCase() + d.slice(1);

export class LookupOutage {
  private readonly clock: OutageClock;
  private readonly o: LookupOutageOptions;
  private readonly table: string;
  private readonly logger: Logger;

  constructor(o: LookupOutageOptions, table: string, logger: Logger, now: () => number = Date.now) {
    this.o = o;
    this.table = table;
    this.logger = logger;
    this.clock = new OutageClock(o.timeoutMs, LOOKUP_WARN_EVERY_MS, now);
  }

  isTransient(e: unknown): boolean {
    return this.o.isTransient(e);
  }

  /**
   * A transient failure of a load (`first`: the table has never loaded). Returns how long to
   * wait before the next attempt; throws TRIB_LOOKUP_UNAVAILABLE once the bound has passed.
   */
  failed(e: unknown, first: boolean): number {
    const t = this.clock.failed();
    const err = this.errorText(e);
    if (t.expired)
      throw new TributaryError(
        'TRIB_LOOKUP_UNAVAILABLE',
        `lookup table "${this.table}": ${this.store} unavailable for ` +
          `${(t.downMs / 1000).toFixed(1)} s (${this.o.timeoutText}, ${t.attempts} attempts): ${err}`,
        { cause: e },
      );
    this.tell(err, t, first, `retrying with backoff (next in ${t.delayMs} ms, at most every ${RETRY_MAX_MS} ms; `);
    return t.delayMs;
  }

  /**
   * A load in progress met trouble its own calls retry (a call that timed out at `since`): the
   * outage is warned about and reported now, not once the load gives up; the load's failure
   * (failed) ends it, the bound counted from `since`.
   */
  trouble(e: unknown, first: boolean, since: number): void {
    const t = this.clock.failed(since);
    this.tell(this.errorText(e), t, first, `the load retrying its calls (`);
  }

  private get store(): string {
    return `${named(this.o.dependency)} at ${this.o.target}`;
  }

  /** The loader's message names the table already; said once per line is enough. */
  private errorText(e: unknown): string {
    return oneLine(e).replace(`lookup table "${this.table}": `, '');
  }

  private tell(err: string, t: OutageStep, first: boolean, retrying: string): void {
    const bound = `fails after ${this.o.timeoutText}`;
    this.o.report?.({
      dependency: this.o.dependency,
      component: `lookup "${this.table}"`,
      target: this.o.target,
      since: new Date(t.since).toISOString(),
      error: err,
      bound,
    });
    if (t.warn)
      this.logger.warn(
        { table: this.table, target: this.o.target, attempts: t.attempts, downMs: t.downMs, err },
        `lookup table "${this.table}": ${this.store} unavailable; ` +
          (first ? 'the job waits for its first load' : 'keeping the last table') +
          `, ${retrying}logged again at most every ${LOOKUP_WARN_EVERY_MS / 1000} s); ${bound}: ${err}`,
      );
  }

  /** A load succeeded: ends the outage, if any. */
  recovered(): void {
    const over = this.clock.recovered();
    if (!over) return;
    this.logger.info(
      { table: this.table, target: this.o.target, attempts: over.attempts, downMs: over.downMs },
      `lookup table "${this.table}": ${named(this.o.dependency)} at ${this.o.target} answers again after ` +
        `${(over.downMs / 1000).toFixed(1)} s and ${over.attempts} failed attempts`,
    );
    this.o.report?.(undefined);
  }
}
