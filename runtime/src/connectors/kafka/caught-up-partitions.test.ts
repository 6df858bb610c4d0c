// The caught-up state of a Kafka source's partitions, poll by poll: reported on change only; a
// partition with queued records keeps its state until one of its records is returned.
import { describe, expect, it } from 'vitest';
import { CaughtUpPartitions } from './caught-up-partitions.ts';

describe('CaughtUpPartitions', () => {
  // Kafka partitions 0 and 1 are the source's partition indexes 10 and 11.
  const partIndex = new Map([
    [0, 10],
    [1, 11],
  ]);
  const state = { queued: new Map<number, number>(), atEnd: new Set<number>() };
  const progress = {
    queuedOf: (p: number) => state.queued.get(p) ?? 0,
    fetchedToEnd: (p: number) => state.atEnd.has(p),
  };
  const poll = (c: CaughtUpPartitions): [number, boolean][] => {
    const reported: [number, boolean][] = [];
    c.afterPoll(partIndex, progress, (idx, up) => reported.push([idx, up]));
    return reported;
  };

  it('reports a partition fetched to its end with nothing queued, once, and when it falls behind again', () => {
    const c = new CaughtUpPartitions();
    state.queued.clear();
    state.atEnd.clear();
    expect(poll(c)).toEqual([]);
    state.atEnd.add(0);
    expect(poll(c)).toEqual([[10, true]]);
    expect(poll(c)).toEqual([]);
    state.atEnd.delete(0);
    expect(poll(c)).toEqual([[10, false]]);
  });

  it('keeps the state of a partition with queued records until a record of it is returned', () => {
    const c = new CaughtUpPartitions();
    state.queued.clear();
    state.atEnd.clear();
    state.atEnd.add(1);
    expect(poll(c)).toEqual([[11, true]]);
    // New records fetched and queued: still reported caught up, none of them returned yet.
    state.queued.set(1, 3);
    state.atEnd.delete(1);
    expect(poll(c)).toEqual([]);
    // A record of it returned with more still queued: no longer caught up.
    c.took(1);
    expect(poll(c)).toEqual([[11, false]]);
    // The next poll without a record of it: unchanged, whatever it was fetched to.
    state.atEnd.add(1);
    expect(poll(c)).toEqual([]);
    state.queued.set(1, 0);
    expect(poll(c)).toEqual([[11, true]]);
  });

  it('a partition taken back under a new index is reported caught up again (live rescale)', () => {
    const c = new CaughtUpPartitions();
    state.queued.clear();
    state.atEnd.clear();
    state.atEnd.add(1);
    expect(poll(c)).toEqual([[11, true]]);
    partIndex.set(1, 12); // handed over, then taken back: a new watermark partition
    expect(poll(c)).toEqual([[12, true]]);
    partIndex.set(1, 11);
  });
});
