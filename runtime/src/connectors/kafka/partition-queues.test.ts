import { describe, expect, it } from 'vitest';
import { collected, watch } from '../../testing/reachability.ts';
import { PartitionQueues, type Queued } from './partition-queues.ts';

function rec(partition: number, offset: number): Queued {
  return { partition, offset: BigInt(offset), key: null, value: Buffer.from(`{"o":${offset}}`) };
}

describe('PartitionQueues', () => {
  it('takes partitions in turn and skips paused ones', () => {
    const q = new PartitionQueues();
    for (let o = 0; o < 4; o++) for (const p of [0, 1]) q.enqueue(rec(p, o));
    const taken: string[] = [];
    q.drain(4, (m) => (taken.push(`${m.partition}:${m.offset}`), true));
    expect(taken).toEqual(['0:0', '0:1', '1:0', '1:1']);
    q.setPaused([0]);
    taken.length = 0;
    q.drain(4, (m) => (taken.push(`${m.partition}:${m.offset}`), true));
    expect(taken).toEqual(['1:2', '1:3']);
    expect(q.queuedOf(0)).toBe(2);
  });

  it('lets go of the records it handed out while others stay queued', async () => {
    const q = new PartitionQueues();
    const refs = ((): WeakRef<object>[] => {
      const recs = [rec(0, 0), rec(0, 1), rec(0, 2)];
      for (const r of recs) q.enqueue(r);
      q.enqueue(rec(0, 3));
      return watch(recs);
    })();
    expect(q.drain(3, () => true)).toBe(3);
    expect(q.queuedOf(0)).toBe(1);
    expect(await collected(refs)).toBe(3);
  });
});
