// collection source (fromCollection): a fixed list of records; slot s emits the records at
// positions s, s+p, s+2p, ... in order, then ends. One partition per slot.
import type { CollectionSourceSpec } from '../../graph/spec.ts';
import type { PollResult, RawRecords, SourceReader, SourceReaderContext } from '../api.ts';

export class CollectionSource implements SourceReader {
  private readonly records: Record<string, unknown>[];
  private ctx!: SourceReaderContext;
  private partition = 0;
  private next = 0;
  private stride = 1;

  constructor(spec: CollectionSourceSpec) {
    this.records = spec.records;
  }

  open(ctx: SourceReaderContext): Promise<void> {
    this.ctx = ctx;
    this.partition = ctx.addPartition();
    this.next = ctx.slot;
    this.stride = ctx.parallelism;
    return Promise.resolve();
  }

  poll(out: RawRecords, max: number): PollResult {
    let n = 0;
    while (n < max && this.next < this.records.length) {
      out.add(this.records[this.next] as Record<string, unknown>, this.partition);
      this.next += this.stride;
      n++;
    }
    if (this.next >= this.records.length) {
      this.ctx.finishPartition(this.partition);
      return n > 0 ? 'data' : 'end';
    }
    return 'data';
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
