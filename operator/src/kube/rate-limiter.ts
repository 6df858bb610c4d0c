// Rate limiters for the work queue, ported from client-go's
// util/workqueue/default_rate_limiters.go. `when(key)` records a failure for the key and
// returns how long to wait (ms) before it may be processed again. Not thread-safe and need
// not be: every call happens on the event loop.

export interface RateLimiter<K = string> {
  when(key: K): number;
  /** Clears the key's failure history (call on success). */
  forget(key: K): void;
  numRequeues(key: K): number;
}

/** Per-key exponential backoff: base * 2^failures, capped at max (client-go: 5ms → 1000s). */
export class ItemExponentialFailureRateLimiter<K = string> implements RateLimiter<K> {
  readonly #failures = new Map<K, number>();
  readonly #baseMs: number;
  readonly #maxMs: number;

  constructor(baseMs = 5, maxMs = 1_000_000) {
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  when(key: K): number {
    const exp = this.#failures.get(key) ?? 0;
    this.#failures.set(key, exp + 1);
    // 2^exp overflows to Infinity long before it matters; min() caps it.
    return Math.min(this.#baseMs * 2 ** exp, this.#maxMs);
  }

  forget(key: K): void {
    this.#failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.#failures.get(key) ?? 0;
  }
}

/**
 * A global token bucket (client-go: 10 qps, burst 100), shared by all keys: it bounds the
 * retry rate when many keys fail at once. Like golang.org/x/time/rate `Reserve`, a call
 * always takes a token, possibly driving the bucket negative, and returns the wait until
 * that token would exist.
 */
export class BucketRateLimiter<K = string> implements RateLimiter<K> {
  readonly #qps: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  constructor(qps = 10, burst = 100, now: () => number = Date.now) {
    this.#qps = qps;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#last = now();
  }

  when(_key: K): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
    this.#last = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens / this.#qps) * 1000);
  }

  forget(_key: K): void {}

  numRequeues(_key: K): number {
    return 0;
  }
}

/** The longest wait any of its limiters asks for. */
export class MaxOfRateLimiter<K = string> implements RateLimiter<K> {
  readonly #limiters: readonly RateLimiter<K>[];

  constructor(...limiters: RateLimiter<K>[]) {
    this.#limiters = limiters;
  }

  when(key: K): number {
    let max = 0;
    for (const l of this.#limiters) max = Math.max(max, l.when(key));
    return max;
  }

  forget(key: K): void {
    for (const l of this.#limiters) l.forget(key);
  }

  numRequeues(key: K): number {
    let max = 0;
    for (const l of this.#limiters) max = Math.max(max, l.numRequeues(key));
    return max;
  }
}

/** controller-runtime's default: max(per-key 5ms→1000s exponential, global 10 qps / burst 100). */
export function defaultControllerRateLimiter<K = string>(): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(
    new ItemExponentialFailureRateLimiter<K>(5, 1_000_000),
    new BucketRateLimiter<K>(10, 100),
  );
}
