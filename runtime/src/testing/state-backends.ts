// The keyed-state backends a test runs against: the heap, and a disk store with a tiny cache, so
// that eviction (at `maintain`) and write-back run on a handful of keys.
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { DiskStore, type StateStore } from '../state/disk-store.ts';

export interface TestBackend {
  name: 'heap' | 'disk';
  /** What KeyedStateBackend's third argument gets. */
  store: (() => StateStore) | undefined;
}

/** Entries a test disk store keeps decoded: small enough that a few keys overflow it. */
export const TEST_CACHE_ENTRIES = 4;

export const TEST_BACKENDS: readonly TestBackend[] = [
  { name: 'heap', store: undefined },
  { name: 'disk', store: () => new DiskStore(join(tmpdir(), 'tributary-test-state'), TEST_CACHE_ENTRIES) },
];

/** A test backend's store factory that remembers the stores it opened, so `afterEach` can close them all. */
export interface TrackedStores {
  /** What KeyedStateBackend's third argument (or an OperatorContext's `stateStore`) gets: undefined on the heap. */
  readonly open: (() => StateStore) | undefined;
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
    closeAll: () => {
      for (const s of opened.splice(0)) s.close(true);
    },
  };
}
