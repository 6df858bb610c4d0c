// A work queue with client-go's semantics (util/workqueue/queue.go, delaying_queue.go,
// rate_limiting_queue.go):
// - de-duplication: a key waiting in the queue is stored once however often it is added;
// - no concurrent processing of one key: a key re-added while a worker holds it is marked
//   dirty and handed out again only after `done(key)`;
// - `addAfter` keeps the earliest of several pending deadlines for one key;
// - `addRateLimited` delays by the rate limiter (per-key backoff × global bucket).
// Deviation from client-go: once shut down, `get()` hands out nothing more, even if keys
// are waiting. A level-based controller loses nothing by that: whoever runs next lists the
// world from its cache and recomputes every key. `shutDownWithDrain` waits for the keys
// already handed out to be `done`.
import type { KubeMetrics } from '../telemetry/metrics.ts';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.ts';

export interface WorkQueueOptions<K> {
  /** The `name` label of the workqueue metrics. */
  name: string;
  rateLimiter?: RateLimiter<K>;
  metrics?: KubeMetrics;
}

interface Waiting {
  readyAt: number;
  timer: NodeJS.Timeout;
}

export class WorkQueue<K = string> {
  readonly name: string;
  readonly #rateLimiter: RateLimiter<K>;
  readonly #metrics: KubeMetrics | undefined;
  /** FIFO of keys ready to be handed out; every key in it is also in #dirty. */
  readonly #queue: K[] = [];
  #head = 0;
  /** Keys that need processing (queued, or re-added while being processed). */
  readonly #dirty = new Set<K>();
  /** Keys handed out by get() and not yet done(). */
  readonly #processing = new Set<K>();
  readonly #waiting = new Map<K, Waiting>();
  readonly #addedAt = new Map<K, number>();
  readonly #startedAt = new Map<K, number>();
  readonly #getters: Array<(key: K | undefined) => void> = [];
  #shuttingDown = false;
  #drained: (() => void) | undefined;

  constructor(opts: WorkQueueOptions<K>) {
    this.name = opts.name;
    this.#rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter<K>();
    this.#metrics = opts.metrics;
    this.#metrics?.workqueueDepth.set({ name: this.name }, 0);
  }

  add(key: K): void {
    if (this.#shuttingDown) return;
    this.#metrics?.workqueueAdds.inc({ name: this.name });
    if (this.#dirty.has(key)) return;
    this.#dirty.add(key);
    this.#addedAt.set(key, performance.now());
    if (this.#processing.has(key)) return;
    this.#enqueue(key);
  }

  /** Adds the key once `delayMs` has passed; of several pending deadlines the earliest wins. */
  addAfter(key: K, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = Date.now() + delayMs;
    const pending = this.#waiting.get(key);
    if (pending && pending.readyAt <= readyAt) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#waiting.delete(key);
      this.add(key);
    }, delayMs);
    // Pending retries must not keep a process alive that has nothing else to do.
    timer.unref();
    this.#waiting.set(key, { readyAt, timer });
  }

  /**
   * Re-adds the key after its rate limiter's delay, clamped to `bounds`: `atMostMs` caps the
   * backoff (failures that are not the key's fault must not push it out for minutes), `atLeastMs`
   * is a floor (the server's Retry-After); the floor wins over the cap.
   */
  addRateLimited(key: K, bounds: { atLeastMs?: number; atMostMs?: number } = {}): void {
    if (this.#shuttingDown) return;
    this.#metrics?.workqueueRetries.inc({ name: this.name });
    const delay = Math.min(this.#rateLimiter.when(key), bounds.atMostMs ?? Infinity);
    this.addAfter(key, Math.max(delay, bounds.atLeastMs ?? 0));
  }

  forget(key: K): void {
    this.#rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.#rateLimiter.numRequeues(key);
  }

  /**
   * Resolves with the next key, waiting if none is ready, or with `undefined` once the queue
   * is shut down. The caller owns the key until it calls `done(key)`.
   */
  get(): Promise<K | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#dequeue();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  done(key: K): void {
    this.#processing.delete(key);
    const started = this.#startedAt.get(key);
    if (started !== undefined) {
      this.#startedAt.delete(key);
      this.#metrics?.workqueueWorkDuration.observe({ name: this.name }, (performance.now() - started) / 1000);
    }
    if (this.#dirty.has(key) && !this.#shuttingDown) this.#enqueue(key);
    if (this.#processing.size === 0) this.#drained?.();
  }

  /** Keys ready to be handed out (not counting those being processed or delayed). */
  len(): number {
    return this.#queue.length - this.#head;
  }

  isProcessing(key: K): boolean {
    return this.#processing.has(key);
  }

  shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Stops accepting keys and releases every waiting `get()` with `undefined`. */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const w of this.#waiting.values()) clearTimeout(w.timer);
    this.#waiting.clear();
    this.#queue.length = 0;
    this.#head = 0;
    this.#dirty.clear();
    this.#addedAt.clear();
    this.#metrics?.workqueueDepth.set({ name: this.name }, 0);
    for (const g of this.#getters.splice(0)) g(undefined);
  }

  /** Shuts down, then resolves once every key handed out has been marked done. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const prev = this.#drained;
      this.#drained = () => {
        prev?.();
        resolve();
      };
    });
  }

  #enqueue(key: K): void {
    const getter = this.#getters.shift();
    if (getter) {
      this.#handOut(key);
      getter(key);
      return;
    }
    this.#queue.push(key);
    this.#metrics?.workqueueDepth.set({ name: this.name }, this.len());
  }

  #dequeue(): K | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const key = this.#queue[this.#head] as K;
    this.#head++;
    // Compact now and then instead of shift()ing, which is O(n) per call.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
    this.#metrics?.workqueueDepth.set({ name: this.name }, this.len());
    this.#handOut(key);
    return key;
  }

  #handOut(key: K): void {
    this.#processing.add(key);
    this.#dirty.delete(key);
    const added = this.#addedAt.get(key);
    if (added !== undefined) {
      this.#addedAt.delete(key);
      this.#metrics?.workqueueQueueDuration.observe({ name: this.name }, (performance.now() - added) / 1000);
    }
    this.#startedAt.set(key, performance.now());
  }
}
