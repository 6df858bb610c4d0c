// Batches for channel and sink tests, and polling a channel's next elements by kind.
import type { ChannelElement } from '../core/channel.ts';
import { newBatch, type Batch } from '../core/batch.ts';

/** Records `{ id: from }` .. `{ id: from + n - 1 }`, event time 0: what a sink test writes and reads back. */
export function idBatch(from: number, n: number): Batch {
  const b = newBatch();
  for (let i = from; i < from + n; i++) {
    b.recs.push({ id: i });
    b.ts.push(0);
    b.n++;
  }
  return b;
}

export function batchOf(n: number): ChannelElement {
  const batch: Batch = { recs: [], ts: [], keys: [], kgs: [], n };
  for (let i = 0; i < n; i++) {
    batch.recs.push({ i, pad: 'x'.repeat(20) });
    batch.ts.push(i);
  }
  return { kind: 'batch', batch };
}

export function pollKinds(ch: { poll(): ChannelElement | undefined }, n: number): string[] {
  const kinds: string[] = [];
  for (let i = 0; i < n; i++) kinds.push(ch.poll()?.kind ?? 'none');
  return kinds;
}
