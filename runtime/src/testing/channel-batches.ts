// Batches for channel tests, and polling a channel's next elements by kind.
import type { ChannelElement } from '../exec/channel.ts';
import type { Batch } from '../operators/types.ts';

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
