// The keyed-state backends a test runs against: the heap, and a disk store with a tiny cache, so
// that eviction (at `maintain`) and write-back run on a handful of keys.
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { DiskStore, type StateStore } from '../state/disk-store.ts';
import type { StateBackendOptions } from '../state/state-backend-options.ts';

export interface TestBackend {
  name: 'heap' | 'disk';
  /** What KeyedStateBackend's third argument gets. */
  store: (() => StateStore) | undefined;
}

/** Entries a test disk store keeps decoded: small enough that a few keys overflow it. */
export const TEST_CACHE_ENTRIES = 4;

/** Where test disk stores go: empty again once every test closed its stores. */
export const TEST_STATE_DIR = join(tmpdir(), 'tributary-test-state');

export const TEST_BACKENDS: readonly TestBackend[] = [
  { name: 'heap', store: undefined },
  { name: 'disk', store: () => new DiskStore(TEST_STATE_DIR, TEST_CACHE_ENTRIES) },
];

/** A test backend's store factory that remembers the stores it opened, so `afterEach` can close them all. */
export interface TrackedStores {
  /** What KeyedStateBackend's third argument (or an OperatorContext's `stateStore`) gets: undefined on the heap. */
  readonly open: (() => StateStore) | undefined;
  /** The stores opened since the last `closeAll`. */
  readonly opened: readonly StateStore[];
  /** Closes every store opened so far and removes its files. */
  closeAll(): void;
}

export function trackStores(b: TestBackend): TrackedStores {
  const opened: StateStore[] = [];
  const make = b.store;
  return {
    open: make
      ? () => {
          const s = make();
          opened.push(s);
          return s;
        }
      : undefined,
    opened,
    closeAll: () => {
      for (const s of opened.splice(0)) s.close(true);
    },
  };
}

/** What a job's `stateBackend` option gets for a test backend (the slots open and remove their own stores). */
export function jobStateBackend(b: TestBackend): StateBackendOptions | undefined {
  return b.name === 'disk' ? { kind: 'disk', dir: TEST_STATE_DIR, cacheEntries: TEST_CACHE_ENTRIES } : undefined;
}
