// The fetched entries behind the records of the Kafka source's current poll, so a record the
// runtime rejects after the reader produced it (no valid timestamp: exec/source-task.ts calls
// reject() between this poll and the next) goes to the dead-letter topic as it was read: its
// key and value bytes, headers, partition and offset, not a re-encoding of the parsed record.
//
// Invariants: only a source with a dead-letter topic keeps any (others pay nothing); what is
// kept is the last poll's entries (at most one poll's batch), released at the next poll; the
// runtime rejects records in the order the poll produced them, so a cursor finds each one with
// no per-record map or search over the whole batch.
import type { Rec } from '../../core/record.ts';
import type { Queued } from './partition-queues.ts';

export class PolledOriginals {
  private recs: Rec[] = [];
  private entries: Queued[] = [];
  private n = 0;
  private cursor = 0;

  /** A new poll starts: the previous poll's entries are let go. */
  reset(): void {
    for (let i = 0; i < this.n; i++) {
      this.recs[i] = undefined as unknown as Rec;
      this.entries[i] = undefined as unknown as Queued;
    }
    this.n = 0;
    this.cursor = 0;
  }

  /** `rec` was produced from `entry` in this poll. */
  note(rec: Rec, entry: Queued): void {
    this.recs[this.n] = rec;
    this.entries[this.n] = entry;
    this.n++;
  }

  /** The entry `rec` was produced from in this poll; undefined if it was not (a wrong caller). */
  find(rec: Rec): Queued | undefined {
    for (let i = this.cursor; i < this.n; i++) {
      if (this.recs[i] === rec) {
        this.cursor = i + 1;
        return this.entries[i];
      }
    }
    // Out of order: search from the start once before giving up.
    for (let i = 0; i < this.cursor; i++) if (this.recs[i] === rec) return this.entries[i];
    return undefined;
  }
}
