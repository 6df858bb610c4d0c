// collection source (fromCollection): a fixed list of records; slot s emits the records at
// positions s, s+p, s+2p, ... in order, then ends. One partition per slot.
import type { CollectionSourceSpec } from '../../graph/spec.ts';
import type { PollResult, RawRecords, SourceReader, SourceReaderContext } from '../api.ts';
import { IndexCursor } from '../index-position.ts';

export class CollectionSource implements SourceReader {
  /** `values` travel as records: the engine carries any value, only CEL steps need fields. */
  private readonly records: Record<string, unknown>[];
  private ctx!: SourceReaderContext;
  private partition = 0;
  private cursor = new IndexCursor(0, 1);

  constructor(spec: CollectionSourceSpec) {
    this.records = (spec.values ?? spec.records ?? []) as Record<string, unknown>[];
  }

  open(ctx: SourceReaderContext): Promise<void> {
    this.ctx = ctx;
    this.partition = ctx.addPartition();
    this.cursor = new IndexCursor(ctx.slot, ctx.parallelism, ctx.restoredPositions);
    return Promise.resolve();
  }

  poll(out: RawRecords, max: number): PollResult {
    let n = 0;
    while (n < max && this.cursor.current < this.records.length) {
      out.add(this.records[this.cursor.current] as Record<string, unknown>, this.partition);
      this.cursor.advance();
      n++;
    }
    if (this.cursor.current >= this.records.length) {
      this.ctx.finishPartition(this.partition);
      return n > 0 ? 'data' : 'end';
    }
    return 'data';
  }

  snapshotPosition(): unknown {
    return this.cursor.snapshot();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
