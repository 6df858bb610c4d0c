// What KeyedStateBackend needs of a store that keeps its tables off the heap (disk-store.ts).
import type { ReadView, TableFactory } from './key-table.ts';
import type { KvDatabase } from './kv-database.ts';

export type { ReadView };

export interface StateStore extends TableFactory {
  /** A safe point (no caller holds a value): write back and evict down to the budget when over it. */
  maintain(): void;
  /** Writes every dirty entry (one transaction). */
  flush(): void;
  /** Writes every dirty entry, then fixes a view of the store as it is now (a full snapshot's source). */
  readView(): ReadView;
  /** The restore's loads are all queued: write them and fix the key counts. */
  endLoad(): void;
  /** An ordered index of the step's own (a timer queue), kept beside its states; opened on first use. */
  index(name: string): KvDatabase;
  /** Releases the store; `remove`: deletes its files. */
  close(remove: boolean): void;
  /** Disk the store's files take (allocated blocks), and entries decoded in its cache. */
  stats(): { localBytes: number; cachedEntries: number };
}
