import { describe, expect, it } from 'vitest';
import { PartitionOffsets } from './partition-offsets.ts';

describe('PartitionOffsets', () => {
  it('a bounded read positions a partition at its end, not past records fetched beyond it and never emitted', () => {
    const o = new PartitionOffsets(true);
    o.start(0, 0n, 3n); // read offsets 0..2
    expect(o.passed(0, 0n)).toEqual({ emit: true, finished: false });
    expect(o.passed(0, 1n)).toEqual({ emit: true, finished: false });
    expect(o.passed(0, 2n)).toEqual({ emit: true, finished: true });
    // Fetched in the same batch, past the end: not emitted, so a committed or checkpointed position must not pass it.
    expect(o.passed(0, 3n)).toEqual({ emit: false, finished: false });
    expect(o.passed(0, 4n)).toEqual({ emit: false, finished: false });
    expect(o.snapshot('t').offsets).toEqual({ '0': '3' });
  });

  it('an end reached over a transaction marker positions the partition at the end', () => {
    const o = new PartitionOffsets(true);
    o.start(0, 0n, 5n);
    expect(o.passed(0, 3n)).toEqual({ emit: true, finished: false });
    expect(o.passed(0, 5n)).toEqual({ emit: false, finished: true }); // offset 4: a commit marker
    expect(o.snapshot('t').offsets).toEqual({ '0': '5' });
  });

  it('an unbounded read positions each partition after the last entry taken', () => {
    const o = new PartitionOffsets(false);
    o.start(1, 10n, 20n);
    o.passed(1, 10n);
    o.passed(1, 14n);
    expect(o.snapshot('t').offsets).toEqual({ '1': '15' });
  });

  it("lag is the records between each owned partition's position and its log end, from its start on", () => {
    const o = new PartitionOffsets(false);
    o.topicPartitions = 3;
    o.start(0, 0n, 40n); // 40 records there before the first fetch
    o.start(2, 5n, 65n); // 60 more from offset 5
    expect(o.load()).toEqual({ partitions: 3, assigned: 2, lag: 100 });
    o.passed(0, 9n);
    expect(o.lag()).toBe(90);
    o.setHighWatermark(2, 70n); // a fetch saw 5 more
    o.passed(2, 69n);
    expect(o.load()).toEqual({ partitions: 3, assigned: 2, lag: 30 });
  });
});
