// What the operator sees of the kube-apiserver: every request and watch of one KubeClient
// reports its outcome here. "Trouble" is an answer that says nothing about the object asked
// for: no answer at all (refused, reset, the request timeout), 429 Too Many Requests (API
// Priority and Fairness), or a 5xx. Any other answer (2xx, 404, 409, 410, …) is the server
// working.
//
// Invariants:
// - One warning when trouble starts (naming the server, the verb and the error), then at most one
//   every `reportEveryMs` while it lasts (with the failures counted since the last line), never
//   one per retry and never silent past `reportEveryMs`; one info line when a request succeeds
//   again, with how long the trouble lasted. Each failed request is logged at debug only. A
//   flapping apiserver (a restarted one answers some requests and 429s others for seconds) warns
//   no more often: trouble that starts again less than `reportEveryMs` after the last warning is
//   logged at debug, and its periodic report warns if it lasts.
// - `tributary_operator_kube_request_failures_total{verb,code}` counts every troubled request
//   (code: the HTTP status, `transport` or `timeout`); `tributary_operator_kube_apiserver_available`
//   is 0 from the first troubled request to the next request that gets a non-trouble answer.
// - A slow apiserver is not trouble: an answer is the server working. A request (not a watch)
//   answered after more than half its timeout warns, at most once every `reportEveryMs`
//   (with how many were that slow since the last line), so a user sees the apiserver getting
//   near the request timeout before requests fail; every request's duration goes to
//   `tributary_operator_kube_request_duration_seconds{verb}`.
// - It only observes: retries and backoff belong to the callers (informers, controllers).
import type { Logger } from '../telemetry/logger.ts';
import { silentLogger } from '../telemetry/logger.ts';
import type { KubeMetrics } from '../telemetry/metrics.ts';
import { ErrorCodes, KubeTransportError, OperatorError, statusCodeOf } from './errors.ts';

/** The failure class of a troubled request, or undefined when the answer is the server working. */
export function troubleCode(err: unknown): string | undefined {
  if (err instanceof KubeTransportError) return err.timedOut ? 'timeout' : 'transport';
  if (err instanceof OperatorError && err.code === ErrorCodes.KUBE_TRANSPORT) return 'transport';
  const status = statusCodeOf(err);
  if (status === 429 || (status !== undefined && status >= 500)) return String(status);
  return undefined;
}

/**
 * The apiserver trouble that caused `err` (itself or an error in its `cause` chain, which a
 * caller's own error code may wrap), or undefined when it is not the apiserver's trouble.
 */
export function apiserverTroubleIn(err: unknown): unknown {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && e !== undefined && e !== null; depth++) {
    if (troubleCode(e) !== undefined) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True for a failure that is (or was caused by) the apiserver's trouble, not an answer about the object. */
export function isApiserverTrouble(err: unknown): boolean {
  return apiserverTroubleIn(err) !== undefined;
}

export interface ApiHealthOptions {
  /** The apiserver's URL, for the log lines. */
  server: string;
  /** Default 30 s. */
  reportEveryMs?: number;
}

export class ApiHealth {
  readonly #server: string;
  #reportEveryMs: number;
  #log: Logger = silentLogger();
  #metrics: KubeMetrics | undefined;
  #since: number | undefined;
  #failuresSinceReport = 0;
  #codesSinceReport = new Map<string, number>();
  #lastError = '';
  #timer: NodeJS.Timeout | undefined;
  #lastWarnAt = -Infinity;
  #lastSlowWarnAt = -Infinity;
  #slowSinceWarn = 0;
  /** Whether this episode's start was warned about (then its end is logged at info). */
  #announced = false;
  readonly #recoveredListeners = new Set<() => void>();

  constructor(opts: ApiHealthOptions) {
    this.#server = opts.server;
    this.#reportEveryMs = opts.reportEveryMs ?? 30_000;
  }

  /** How often it warns while trouble lasts, ms (the operator's --kube-trouble-log-interval). */
  set reportEveryMs(ms: number) {
    this.#reportEveryMs = ms;
  }

  /** Where it logs and counts (the Manager's logger and registry); silent until bound. */
  bind(logger: Logger, metrics: KubeMetrics | undefined): void {
    this.#log = logger.child({ component: 'kube-apiserver', server: this.#server });
    this.#metrics = metrics;
    this.#metrics?.apiserverAvailable.set(this.#since === undefined ? 1 : 0);
  }

  /** True while the last request outcome was trouble. */
  get troubled(): boolean {
    return this.#since !== undefined;
  }

  /** A request got an answer that is not trouble. */
  ok(): void {
    if (this.#since === undefined) return;
    const seconds = Math.round((Date.now() - this.#since) / 100) / 10;
    this.#log[this.#announced ? 'info' : 'debug'](
      { unavailableSeconds: seconds, failures: this.#failuresSinceReport },
      `kube-apiserver ${this.#server} answers again after ${seconds} s`,
    );
    this.#since = undefined;
    this.#failuresSinceReport = 0;
    this.#codesSinceReport.clear();
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#metrics?.apiserverAvailable.set(1);
    for (const l of [...this.#recoveredListeners]) l();
  }

  /**
   * A request (not a watch) ended after `ms`, `answered` or not (no answer: `failed` says so);
   * `timeoutMs` is the operator's request timeout. Only latency: whether an answer was trouble
   * is `ok`/`failed`'s to say.
   */
  took(verb: string, path: string, ms: number, timeoutMs: number, answered: boolean): void {
    this.#metrics?.kubeRequestDuration.observe({ verb }, ms / 1000);
    if (!answered || ms <= timeoutMs / 2) return;
    this.#slowSinceWarn++;
    const now = Date.now();
    if (now - this.#lastSlowWarnAt < this.#reportEveryMs) return;
    this.#lastSlowWarnAt = now;
    const s = (x: number) => Math.round(x / 100) / 10;
    this.#log.warn(
      { verb, path, seconds: s(ms), timeoutSeconds: s(timeoutMs), slowRequests: this.#slowSinceWarn },
      `kube-apiserver ${this.#server} slow: ${verb} ${path} answered after ${s(ms)} s, over half the kube request ` +
        `timeout ${s(timeoutMs)} s (${this.#slowSinceWarn} request(s) that slow since the last such line)`,
    );
    this.#slowSinceWarn = 0;
  }

  /**
   * Calls `listener` once the apiserver answers again after trouble (e.g. to end a retry's
   * backoff early: one caller's success is everyone's news). Returns an unsubscribe.
   */
  onRecovered(listener: () => void): () => void {
    this.#recoveredListeners.add(listener);
    return () => this.#recoveredListeners.delete(listener);
  }

  /** A request or watch failed; `verb` is the HTTP method or WATCH. Non-trouble errors count as ok. */
  failed(verb: string, err: unknown): void {
    const code = troubleCode(err);
    if (code === undefined) {
      this.ok();
      return;
    }
    this.#metrics?.kubeRequestFailures.inc({ verb, code });
    this.#failuresSinceReport++;
    this.#codesSinceReport.set(code, (this.#codesSinceReport.get(code) ?? 0) + 1);
    this.#lastError = oneLine(err);
    this.#log.debug({ verb, code, error: this.#lastError }, 'kube request failed');
    if (this.#since !== undefined) return;
    this.#since = Date.now();
    this.#metrics?.apiserverAvailable.set(0);
    this.#announced = this.#since - this.#lastWarnAt >= this.#reportEveryMs;
    if (this.#announced) this.#lastWarnAt = this.#since;
    this.#log[this.#announced ? 'warn' : 'debug'](
      { verb, code, error: this.#lastError, reportEverySeconds: this.#reportEveryMs / 1000 },
      `kube-apiserver ${this.#server} unavailable: ${this.#lastError}; retrying with backoff`,
    );
    this.#failuresSinceReport = 0;
    this.#codesSinceReport.clear();
    this.#timer = setInterval(() => this.#report(), this.#reportEveryMs);
    this.#timer.unref();
  }

  #report(): void {
    if (this.#since === undefined) return;
    const seconds = Math.round((Date.now() - this.#since) / 1000);
    this.#announced = true;
    this.#lastWarnAt = Date.now();
    this.#log.warn(
      {
        unavailableSeconds: seconds,
        failures: this.#failuresSinceReport,
        codes: Object.fromEntries(this.#codesSinceReport),
        error: this.#lastError,
      },
      `kube-apiserver ${this.#server} still unavailable after ${seconds} s (${this.#failuresSinceReport} failed requests since the last report): ${this.#lastError}; retrying with backoff`,
    );
    this.#failuresSinceReport = 0;
    this.#codesSinceReport.clear();
  }

  /** Stops the periodic report (the client is closing). */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s+/g, ' ').slice(0, 300);
}
