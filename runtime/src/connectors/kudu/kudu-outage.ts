// What a kudu sink or source says while Kudu does not answer: the client retries every operation
// (a batch's write, a tablet's scan, the table's opening) within the connector's `timeout`; this turns those retries
// into a warning when the trouble has lasted a moment and then at most every 30 s (a third of the
// bound if shorter) — never one line per retry — an outage reported to the slot (core/outage.ts)
// for as long as it lasts, and, once the bound has passed, an error naming the connector, its masters
// and the server that did not answer. A short blip (a leader moving, retried within a second)
// stays silent.
import type { Logger } from 'pino';
import { TributaryError } from '../../errors.ts';
import type { DependencyOutage, ReportOutage } from '../../core/outage.ts';
import { isRetriable } from './client/connection.ts';

export interface KuduOutageOptions {
  readonly role: 'sink' | 'source' | 'lookup';
  /** The sink's or source's name (a lookup's: its table's, the kudu source's name). */
  readonly name: string;
  readonly table: string;
  /** The masters as configured, comma-separated. */
  readonly masters: string;
  readonly timeoutMs: number;
  /** The bound as the user wrote it, e.g. `4s`. */
  readonly timeoutText: string;
  readonly logger: Logger;
  readonly report?: ReportOutage;
  /** Injected in tests. */
  readonly now?: () => number;
}

/** Trouble shorter than this (a leader change retried at once) is not an outage. */
const graceMs = 1_000;

export class KuduOutage {
  private readonly o: KuduOutageOptions;
  private readonly now: () => number;
  private readonly masterSet: Set<string>;
  /** When the current trouble started (its first failed attempt); undefined while writes succeed. */
  private since: number | undefined;
  private lastWarn: number | undefined;

  constructor(o: KuduOutageOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    this.masterSet = new Set(o.masters.split(',').map((m) => m.trim()));
  }

  private get warnEveryMs(): number {
    return Math.min(30_000, Math.max(1_000, Math.floor(this.o.timeoutMs / 3)));
  }

  private get bound(): string {
    return `fails after timeout ${this.o.timeoutText}`;
  }

  /** An attempt of `what` (started at `startedAt`) failed with `err` and is retried. */
  retry(what: string, err: unknown, startedAt: number): void {
    const now = this.now();
    // A timed-out call already waited an attempt's bound: that is no blip, and the outage began
    // when the operation started waiting.
    const timedOut = err instanceof TributaryError && err.code === 'TRIB_KUDU_TIMEOUT';
    this.since ??= timedOut ? Math.min(startedAt, now) : now;
    if (this.lastWarn === undefined && now - this.since < graceMs && !timedOut) return;
    if (this.lastWarn !== undefined && now - this.lastWarn < this.warnEveryMs) return;
    this.lastWarn = now;
    const outage = this.outage(err);
    const seconds = Math.round((now - this.since) / 1000);
    this.o.logger.warn(
      {
        [this.o.role]: this.o.name,
        table: this.o.table,
        target: outage.target,
        error: outage.error,
        forSeconds: seconds,
      },
      `kudu ${this.o.role} "${this.o.name}": ${outage.target} unavailable for ${seconds} s ${what}: ${outage.error}; retrying, ${this.bound}`,
    );
    this.o.report?.(outage);
  }

  /** An operation succeeded: an outage this connector reported is over. */
  ok(): void {
    if (this.since === undefined) return;
    if (this.lastWarn !== undefined) {
      const seconds = ((this.now() - this.since) / 1000).toFixed(1);
      this.o.logger.info(
        { [this.o.role]: this.o.name, table: this.o.table, masters: this.o.masters, afterSeconds: Number(seconds) },
        `kudu ${this.o.role} "${this.o.name}": ${this.o.role === 'sink' ? 'writes to' : 'reads of'} table "${this.o.table}" succeed again after ${seconds} s`,
      );
      this.o.report?.(undefined);
    }
    this.since = undefined;
    this.lastWarn = undefined;
  }

  /**
   * The error an operation ended with, for the job: an unavailability past the bound keeps its
   * Kudu code (TRIB_KUDU_TIMEOUT, TRIB_KUDU_CONNECT, TRIB_KUDU_MASTER) and names the connector,
   * table, masters and bound; any other error (a row Kudu rejects, a schema mismatch) passes as it is.
   */
  failed(what: string, err: unknown): unknown {
    if (!isRetriable(err) || !(err instanceof TributaryError)) return err;
    const target = this.outage(err).target;
    // Unavailable: some attempt failed. Without one the operation was only slow (a long scan).
    const state =
      this.since === undefined
        ? `not done within timeout ${this.o.timeoutText} (table "${this.o.table}", ${target})`
        : `${target} unavailable (timeout ${this.o.timeoutText}, table "${this.o.table}")`;
    return new TributaryError(err.code, `${this.o.role} "${this.o.name}": ${what} failed: ${state}: ${oneLine(err)}`, {
      cause: err,
    });
  }

  private outage(err: unknown): DependencyOutage {
    return {
      dependency: 'kudu',
      component: `${this.o.role} "${this.o.name}"`,
      target: this.targetOf(err),
      since: new Date(this.since ?? this.now()).toISOString(),
      error: oneLine(err),
      bound: this.bound,
    };
  }

  /** The masters, and the tablet server the error names when it is one (a hung or refusing leader). */
  private targetOf(err: unknown): string {
    const masters = `masters ${this.o.masters}`;
    const servers = (oneLine(err).match(/\b[\w.-]+:\d{2,5}\b/g) ?? []).filter((a) => !this.masterSet.has(a));
    return servers.length === 0 ? masters : `tablet server ${servers[0]} (${masters})`;
  }
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s+/g, ' ').slice(0, 500);
}
