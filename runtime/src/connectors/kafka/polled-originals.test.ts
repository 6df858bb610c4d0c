import { describe, expect, it } from 'vitest';
import type { Queued } from './partition-queues.ts';
import { PolledOriginals } from './polled-originals.ts';

const entry = (offset: number): Queued => ({
  partition: offset % 2,
  offset: BigInt(offset),
  key: Buffer.from(`k${offset}`),
  value: Buffer.from(`{ "n" : ${offset} }`),
});

describe('PolledOriginals', () => {
  it('finds the entry a record of this poll was read from, in order or not, and forgets them at the next poll', () => {
    const o = new PolledOriginals();
    const recs = [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }];
    recs.forEach((r, i) => o.note(r, entry(i)));
    expect(o.find(recs[1]!)?.offset).toBe(1n);
    expect(o.find(recs[3]!)?.offset).toBe(3n);
    expect(o.find(recs[0]!)?.offset).toBe(0n); // behind the cursor
    expect(o.find({ n: 1 })).toBeUndefined(); // an equal record is not the record
    o.reset();
    expect(o.find(recs[2]!)).toBeUndefined();
    const next = { n: 9 };
    o.note(next, entry(9));
    expect(o.find(next)?.value?.toString()).toBe('{ "n" : 9 }');
  });
});
