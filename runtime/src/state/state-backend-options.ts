// Where a job's keyed state lives (spec.stateBackend): the JavaScript heap, or a disk store on
// the slot's local volume with a bounded write-back cache in front (disk-store.ts). The local
// store is only a cache of what checkpoints hold: losing it loses nothing.

export type StateBackendKind = 'heap' | 'disk';

export interface StateBackendOptions {
  kind: StateBackendKind;
  /** disk: the directory the slot's stores go under (each makes its own subdirectory); default the OS temp dir. */
  dir?: string;
  /** disk: decoded values kept in memory per store (the write-back cache); default defaultCacheEntries(). */
  cacheEntries?: number;
}

/**
 * Heap one cached entry costs, measured: a 100,000-entry cache of a rolling count held 40–50 MB
 * (key string, Map slot, cache record, value, change marks).
 */
const BYTES_PER_CACHED_ENTRY = 500;
/** Share of the heap each stateful step's cache may take when the spec names no size. */
const CACHE_HEAP_SHARE = 0.05;

/**
 * Values a disk store keeps decoded when the spec names no size: a twentieth of the heap limit
 * per stateful step at the measured cost per entry, between 1,000 and 1,000,000 (a 4 GiB heap:
 * about 430,000; a 512 MiB heap: about 54,000). Scaling with the heap keeps a slot whose memory
 * is small from filling it with cache.
 */
export function defaultCacheEntries(heapLimitBytes: number): number {
  const n = Math.floor((heapLimitBytes * CACHE_HEAP_SHARE) / BYTES_PER_CACHED_ENTRY);
  return Math.min(1_000_000, Math.max(1_000, n));
}
