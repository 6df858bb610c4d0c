// A level-based controller: informer events become keys in a work queue; N workers take
// keys and call `reconcile(key)`, which reads current state from the informer caches and
// converges. A key carries no event: the reconcile must not care why it runs, and running
// it twice must be harmless.
//
// Result handling (controller-runtime reconcileHandler):
//   ok                      → forget (reset backoff)
//   { requeueAfter: ms }    → forget, addAfter(ms)   (polling; interval chosen by the caller)
//   throws TerminalError    → counted and logged, not requeued
//   throws anything else    → addRateLimited (per-key exponential backoff × global bucket)
//   throws apiserver trouble (no answer, timeout, 429, 5xx: api-health.ts)
//                           → the same, but the delay is capped at `apiTroubleMaxBackoffMs`
//                             (the key is not at fault: once the apiserver is back it must
//                             not wait out minutes of backoff) and is at least the server's
//                             Retry-After; logged at debug, the client's ApiHealth warns once
//                             for all keys (then at most every 30 s)
//
// Lifecycle: start() waits for every informer to sync, then starts the workers; stop()
// stops handing out keys, lets in-flight reconciles finish until the deadline, then aborts
// their `signal`. One key is never reconciled concurrently with itself (work-queue
// guarantee); different keys run in parallel on `workers` workers.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../telemetry/logger.ts';
import { silentLogger } from '../telemetry/logger.ts';
import type { KubeMetrics } from '../telemetry/metrics.ts';
import { ErrorCodes, OperatorError, isTerminal, retryAfterMsOf } from './errors.ts';
import { apiserverTroubleIn } from './api-health.ts';
import type { Informer } from './informer.ts';
import { keyOf, parseKey } from './keys.ts';
import type { RateLimiter } from './rate-limiter.ts';
import type { KubeObject } from './api-resources.ts';
import { WorkQueue } from './workqueue.ts';

export interface ReconcileRequest {
  key: string;
  namespace: string | undefined;
  name: string;
}

export interface ReconcileContext {
  /** `{controller, key, reconcileId}` bound. */
  logger: Logger;
  reconcileId: string;
  /** Aborted when the shutdown deadline passes; long calls should honour it. */
  signal: AbortSignal;
}

export interface ReconcileResult {
  /** Reconcile this key again after this many ms (and reset its error backoff). */
  requeueAfter?: number;
}

export type Reconciler = (req: ReconcileRequest, ctx: ReconcileContext) => Promise<ReconcileResult | void>;

/** Maps an event on a watched object to the keys of the primary objects to reconcile. */
export type MapFunc<T> = (obj: T) => readonly string[];

export interface WatchSource<T extends KubeObject = KubeObject> {
  informer: Informer<T>;
  map: MapFunc<T>;
  /** Return false to ignore an update (e.g. only status or resourceVersion changed). */
  updatePredicate?: (oldObj: T, newObj: T) => boolean;
}

export interface ControllerOptions<T extends KubeObject> {
  /** Metric label, logger field and queue name. */
  name: string;
  /** The primary resource: its events enqueue its own key. */
  for: Informer<T>;
  forUpdatePredicate?: (oldObj: T, newObj: T) => boolean;
  /** Secondary resources (owned objects via `ownerKeyMapper`, or anything else) mapped to primary keys. */
  watches?: readonly WatchSource<any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  reconcile: Reconciler;
  workers?: number;
  rateLimiter?: RateLimiter<string>;
  logger?: Logger;
  metrics?: KubeMetrics;
  /**
   * Re-enqueue every primary key from the cache at this period (never a relist). Off by
   * default: prefer `requeueAfter` from the reconcile that needs polling.
   */
  resyncPeriodMs?: number;
  /** Longest retry delay of a reconcile that failed on apiserver trouble. Default 30 s. */
  apiTroubleMaxBackoffMs?: number;
}

type Result = 'success' | 'error' | 'requeue_after' | 'terminal_error';
const RESULTS: readonly Result[] = ['success', 'error', 'requeue_after', 'terminal_error'];

export class Controller<T extends KubeObject> {
  readonly name: string;
  readonly queue: WorkQueue<string>;
  readonly #opts: ControllerOptions<T>;
  readonly #log: Logger;
  readonly #metrics: KubeMetrics | undefined;
  readonly #workers: number;
  readonly #unsubscribe: Array<() => void> = [];
  readonly #abort = new AbortController();
  #running: Promise<void>[] = [];
  #started = false;
  #resync: NodeJS.Timeout | undefined;

  constructor(opts: ControllerOptions<T>) {
    this.name = opts.name;
    this.#opts = opts;
    this.#log = (opts.logger ?? silentLogger()).child({ controller: opts.name });
    this.#metrics = opts.metrics;
    this.#workers = Math.max(1, opts.workers ?? 2);
    this.queue = new WorkQueue<string>({
      name: opts.name,
      ...(opts.rateLimiter ? { rateLimiter: opts.rateLimiter } : {}),
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
    });
    if (this.#metrics) {
      // Pre-register every series at 0 so dashboards and rate() see them before the first event.
      for (const result of RESULTS) this.#metrics.reconcileTotal.inc({ controller: this.name, result }, 0);
      this.#metrics.reconcileErrors.inc({ controller: this.name }, 0);
      this.#metrics.reconcileTerminalErrors.inc({ controller: this.name }, 0);
      this.#metrics.activeWorkers.set({ controller: this.name }, 0);
      this.#metrics.maxConcurrentReconciles.set({ controller: this.name }, this.#workers);
    }
  }

  get started(): boolean {
    return this.#started;
  }

  /** Adds a key directly (e.g. from an external trigger). */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  /**
   * Subscribes to the informers, waits until all have synced, then starts the workers.
   * Informers are started by their owner (the Manager), not here, so several controllers
   * can share one.
   */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const primary = this.#opts.for;
    this.#unsubscribe.push(
      primary.addHandler({
        onAdd: (obj) => this.queue.add(keyOf(obj)),
        onUpdate: (o, n) => {
          if (this.#opts.forUpdatePredicate && !this.#opts.forUpdatePredicate(o, n)) return;
          this.queue.add(keyOf(n));
        },
        onDelete: (obj) => this.queue.add(keyOf(obj)),
      }),
    );
    for (const w of this.#opts.watches ?? []) {
      const enqueue = (obj: KubeObject) => {
        for (const k of w.map(obj)) this.queue.add(k);
      };
      this.#unsubscribe.push(
        w.informer.addHandler({
          onAdd: enqueue,
          onUpdate: (o: KubeObject, n: KubeObject) => {
            if (w.updatePredicate && !w.updatePredicate(o, n)) return;
            // An owner change moves the object between primaries: both must hear of it.
            enqueue(o);
            enqueue(n);
          },
          onDelete: enqueue,
        }),
      );
    }
    const informers = [primary, ...(this.#opts.watches ?? []).map((w) => w.informer)];
    await Promise.all(informers.map((i) => i.waitForSync(signal)));
    if (this.queue.shuttingDown()) return;
    this.#log.info({ workers: this.#workers }, 'caches synced; starting workers');
    for (let i = 0; i < this.#workers; i++) this.#running.push(this.#worker());
    if (this.#opts.resyncPeriodMs) {
      this.#resync = setInterval(() => {
        for (const obj of primary.list()) this.queue.add(keyOf(obj));
      }, this.#opts.resyncPeriodMs);
      this.#resync.unref();
    }
  }

  /**
   * Stops taking new keys and waits for in-flight reconciles. After `deadlineMs` their
   * signal is aborted and this rejects with OPERATOR_SHUTDOWN_TIMEOUT (the reconciles may
   * still be running; a level-based successor will redo whatever they did not finish).
   */
  async stop(deadlineMs = 30_000): Promise<void> {
    for (const u of this.#unsubscribe.splice(0)) u();
    if (this.#resync) clearInterval(this.#resync);
    const drained = this.queue.shutDownWithDrain().then(() => Promise.all(this.#running));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), deadlineMs);
    });
    const outcome = await Promise.race([drained.then(() => 'drained' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.#abort.abort(
        new OperatorError(ErrorCodes.SHUTDOWN_TIMEOUT, `controller ${this.name}: shutdown deadline passed`),
      );
      throw new OperatorError(
        ErrorCodes.SHUTDOWN_TIMEOUT,
        `controller ${this.name}: reconciles still running after ${deadlineMs} ms`,
      );
    }
    this.#log.info('stopped');
  }

  async #worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.#process(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  async #process(key: string): Promise<void> {
    const reconcileId = randomUUID();
    const logger = this.#log.child({ key, reconcileId });
    const labels = { controller: this.name };
    const t0 = performance.now();
    this.#metrics?.activeWorkers.inc(labels);
    let result: Result;
    try {
      const { namespace, name } = parseKey(key);
      const res = await this.#opts.reconcile(
        { key, namespace, name },
        { logger, reconcileId, signal: this.#abort.signal },
      );
      this.queue.forget(key);
      if (res && res.requeueAfter !== undefined && res.requeueAfter > 0) {
        this.queue.addAfter(key, res.requeueAfter);
        result = 'requeue_after';
      } else {
        result = 'success';
      }
      logger.debug({ result, requeueAfter: res?.requeueAfter }, 'reconciled');
    } catch (err) {
      if (isTerminal(err)) {
        result = 'terminal_error';
        this.#metrics?.reconcileTerminalErrors.inc(labels);
        logger.error({ err }, 'reconcile failed terminally; not retrying');
      } else {
        result = 'error';
        this.#metrics?.reconcileErrors.inc(labels);
        const trouble = apiserverTroubleIn(err);
        if (trouble !== undefined) {
          const retryAfter = retryAfterMsOf(trouble);
          this.queue.addRateLimited(key, {
            atMostMs: this.#opts.apiTroubleMaxBackoffMs ?? 30_000,
            ...(retryAfter === undefined ? {} : { atLeastMs: retryAfter }),
          });
          logger.debug(
            { err, requeues: this.queue.numRequeues(key) },
            'reconcile failed on apiserver trouble; retrying',
          );
        } else {
          this.queue.addRateLimited(key);
          logger.warn({ err, requeues: this.queue.numRequeues(key) }, 'reconcile failed; retrying with backoff');
        }
      }
    } finally {
      this.#metrics?.activeWorkers.dec(labels);
    }
    this.#metrics?.reconcileTime.observe(labels, (performance.now() - t0) / 1000);
    this.#metrics?.reconcileTotal.inc({ controller: this.name, result });
  }
}
