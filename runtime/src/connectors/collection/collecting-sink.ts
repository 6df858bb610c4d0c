// The collecting sink: what `executeAndCollect` (api.ts) gathers, every record a sink receives
// with its timestamp, in memory. The in-memory counterpart of the collection source; tests use
// it too (testing/harness.ts re-exports it), which is why it lives here and not under testing/:
// shipped code never imports testing/ (.dependency-cruiser.js).
// Invariant: one array may be shared by all slots of a sink; records are appended in the order
// each slot writes them, so across slots only the set is defined, not the order.
import type { Batch } from '../../core/batch.ts';
import type { Rec } from '../../core/record.ts';
import type { SinkWriter } from '../api.ts';

export interface Emitted {
  rec: Rec;
  ts: number;
}

/** A SinkWriter that keeps everything in memory (shared across slots). */
export class CollectingSink implements SinkWriter {
  readonly records: Emitted[];
  backpressured = false;

  constructor(into: Emitted[] = []) {
    this.records = into;
  }

  open(): Promise<void> {
    return Promise.resolve();
  }

  write(b: Batch): void {
    for (let i = 0; i < b.n; i++) this.records.push({ rec: b.recs[i] as Rec, ts: b.ts[i] as number });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
