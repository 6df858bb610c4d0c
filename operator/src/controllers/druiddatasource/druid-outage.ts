// Druid unavailable (unreachable, 5xx, refusing our credentials) is ridden out per object with a
// bounded exponential backoff, kept here rather than in the work queue's limiter so that the
// reconcile can say in its log and status how long it waits, and so that a spec edit during the
// outage (which runs a reconcile at once) does not reset the backoff.
//
// Invariants:
//  * The delay after the n-th consecutive failure of an object is min(maxMs, initialMs·2^(n−1)):
//    never a hot loop, never longer than maxMs after Druid's return.
//  * One warning log line per Druid URL when its outage starts, then at most one per logEveryMs,
//    however many objects point at it and however often they retry.
//  * In memory only: an operator restart starts the backoff again at initialMs (the status, not
//    this, says since when Druid is unavailable: the condition's lastTransitionTime).

/** The retry of a Druid that does not answer; DruidDatasourceControllerOptions.druidRetry. */
export interface DruidRetryOptions {
  /** Delay after the first failure; doubled per consecutive failure. Default 1 s. */
  readonly initialMs: number;
  /** Longest delay between two attempts: the bound on time-to-recover after Druid returns. Default 30 s. */
  readonly maxMs: number;
  /** Shortest interval between two warning lines about one Druid URL. Default 30 s. */
  readonly logEveryMs: number;
}

export const defaultDruidRetry: DruidRetryOptions = { initialMs: 1_000, maxMs: 30_000, logEveryMs: 30_000 };

/** One failure of an object within its outage, and what follows from it. */
export interface OutageFailure {
  /** Consecutive failures of this object, this one included. */
  readonly failures: number;
  /** When this object's outage started (its first failure). */
  readonly since: Date;
  /** When to try again. */
  readonly retryInMs: number;
  /** Whether this failure should be logged (first of the URL's outage, or logEveryMs since the last line). */
  readonly log: boolean;
}

export interface OutageEnd {
  readonly failures: number;
  readonly since: Date;
}

export class DruidOutages {
  readonly #opts: DruidRetryOptions;
  readonly #byKey = new Map<string, { failures: number; since: Date }>();
  /** Per Druid URL: when its outage was last logged. */
  readonly #loggedAt = new Map<string, number>();

  constructor(opts: Partial<DruidRetryOptions> = {}) {
    this.#opts = { ...defaultDruidRetry, ...opts };
  }

  get maxMs(): number {
    return this.#opts.maxMs;
  }

  get logEveryMs(): number {
    return this.#opts.logEveryMs;
  }

  failed(key: string, url: string, now: Date): OutageFailure {
    const prev = this.#byKey.get(key);
    const cur = { failures: (prev?.failures ?? 0) + 1, since: prev?.since ?? now };
    this.#byKey.set(key, cur);
    const { initialMs, maxMs, logEveryMs } = this.#opts;
    // 2^30 already exceeds any sane maxMs; the exponent is capped so the product stays finite.
    const retryInMs = Math.min(maxMs, initialMs * 2 ** Math.min(cur.failures - 1, 30));
    const last = this.#loggedAt.get(url);
    const log = last === undefined || now.getTime() - last >= logEveryMs;
    if (log) this.#loggedAt.set(url, now.getTime());
    return { failures: cur.failures, since: cur.since, retryInMs, log };
  }

  /**
   * Druid answered this object again: its outage (if it had one) ends, and the URL's log throttle
   * resets, so the next outage's start is logged (a flapping Druid logs once per outage).
   */
  recovered(key: string, url: string): OutageEnd | undefined {
    const prev = this.#byKey.get(key);
    if (!prev) return undefined;
    this.#byKey.delete(key);
    this.#loggedAt.delete(url);
    return prev;
  }

  forget(key: string): void {
    this.#byKey.delete(key);
  }
}
