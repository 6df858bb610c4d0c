// A bounded cache of lookup results by key string, least recently used evicted first, each
// entry valid for `ttlMs` after it was stored. A result is a row or `null` (the table has no row
// with that key: negative caching, so a key that keeps missing is not fetched for every record).
// Invariants: never more than `maxEntries` entries; an entry older than its TTL is never
// returned (it is dropped when met); reading an entry makes it the most recently used, storing
// one too. The clock is a parameter so that expiry is tested without waiting.
import { TributaryError } from '../errors.ts';

export interface LookupCacheOptions {
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly now?: () => number;
}

interface Entry<V> {
  value: V | null;
  expiresAt: number;
}

export class LookupCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  evictions = 0;

  constructor(o: LookupCacheOptions) {
    if (!Number.isInteger(o.maxEntries) || o.maxEntries < 1)
      throw new TributaryError(
        'TRIB_INVARIANT',
        `lookup cache: maxEntries must be an integer ≥ 1, got ${o.maxEntries}`,
      );
    if (!(o.ttlMs > 0))
      throw new TributaryError('TRIB_INVARIANT', `lookup cache: ttl must be positive, got ${o.ttlMs} ms`);
    this.maxEntries = o.maxEntries;
    this.ttlMs = o.ttlMs;
    this.now = o.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached row, `null` for a cached miss, `undefined` when not cached (or expired). */
  get(key: string): V | null | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (e.expiresAt <= this.now()) return undefined;
    this.entries.set(key, e);
    return e.value;
  }

  set(key: string, value: V | null): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      // A Map iterates in insertion order: the first key is the least recently used.
      this.entries.delete(this.entries.keys().next().value as string);
      this.evictions++;
    }
  }
}
