// Records travel in batches of parallel arrays. A batch handed to an operator's `push` or a
// sink's `write` belongs to the caller and may be reused as soon as the call returns, so
// anything that buffers records copies them out first.
import type { Rec } from './record.ts';
import type { RecordOrigin } from './origin.ts';

export interface Batch {
  recs: Rec[];
  /** Event timestamps (epoch ms). */
  ts: number[];
  /** Canonical key strings; set only on keyed streams (after a keyBy exchange). */
  keys: string[];
  /** Key groups; set only on keyed streams. */
  kgs: number[];
  n: number;
  /**
   * Each record's source record, parallel to `recs`; set only where a Kafka source's origins reach
   * a step that may name them (core/origin.ts has the invariants, graph/origin-exchanges.ts where).
   */
  origins?: (RecordOrigin | undefined)[] | undefined;
}

export function newBatch(): Batch {
  return { recs: [], ts: [], keys: [], kgs: [], n: 0 };
}
