// A table a lookup step reads rows from by key (a kudu source in `mode: get` implements it):
// rows by key string, some answered at once from a cache, the rest fetched together. Beside
// lookup-key.ts and lookup-table.ts: what connectors offer the lookup operators.
import type { Rec } from '../core/record.ts';

export interface KeyedLookup {
  /** Connects (before the sources open); fails the job when the table cannot be used. */
  open(): Promise<void>;
  /** The row of `key` if known now: a row, `null` (known to have no row), `undefined` (to fetch). */
  cached(key: string): Rec | null | undefined;
  /**
   * The rows of `keys` (distinct, none of them known now), `null` for a key without a row.
   * Rejects with a coded error when the table cannot answer (the step then fails the job).
   */
  fetch(keys: readonly string[]): Promise<ReadonlyMap<string, Rec | null>>;
  close(): void;
}
