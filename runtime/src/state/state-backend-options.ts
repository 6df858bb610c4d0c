// Where a job's keyed state lives (spec.stateBackend): the JavaScript heap, or a disk store on
// the slot's local volume with a bounded write-back cache in front (disk-store.ts). The local
// store is only a cache of what checkpoints hold: losing it loses nothing.

export type StateBackendKind = 'heap' | 'disk';

export interface StateBackendOptions {
  kind: StateBackendKind;
  /** disk: the directory the slot's stores go under (each makes its own subdirectory); default the OS temp dir. */
  dir?: string;
  /** disk: decoded values kept in memory per store (the write-back cache); default DEFAULT_CACHE_ENTRIES. */
  cacheEntries?: number;
}

/** Values a disk store keeps decoded in memory when the spec names no size. */
export const DEFAULT_CACHE_ENTRIES = 100_000;
