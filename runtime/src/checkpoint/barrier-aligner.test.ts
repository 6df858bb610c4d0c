import { describe, expect, it } from 'vitest';
import type { CheckpointBarrier } from '../core/barrier.ts';
import { BarrierAligner } from './barrier-aligner.ts';

const b = (id: number): CheckpointBarrier => ({ id, timestamp: 0, kind: 'checkpoint' });

function aligner(n: number): { a: BarrierAligner; log: string[] } {
  const log: string[] = [];
  const a = new BarrierAligner(n, {
    aligned: (x) => log.push(`aligned ${x.id}`),
    aborted: (id, r) => log.push(`aborted ${id}: ${r}`),
  });
  return { a, log };
}

describe('BarrierAligner', () => {
  it('blocks each channel that delivered the barrier until all did, then triggers once and unblocks', () => {
    const { a, log } = aligner(3);
    a.onBarrier(1, b(1));
    expect(a.isBlocked(1)).toBe(true);
    expect(a.isBlocked(0)).toBe(false);
    a.onBarrier(0, b(1));
    expect(log).toEqual([]);
    a.onBarrier(2, b(1));
    expect(log).toEqual(['aligned 1']);
    expect([0, 1, 2].map((c) => a.isBlocked(c))).toEqual([false, false, false]);
  });

  it('triggers at once with a single channel', () => {
    const { a, log } = aligner(1);
    a.onBarrier(0, b(5));
    expect(log).toEqual(['aligned 5']);
    expect(a.isBlocked(0)).toBe(false);
  });

  it('ignores obsolete barriers: an older id, or the current id once completed', () => {
    const { a, log } = aligner(2);
    a.onBarrier(0, b(2));
    a.onBarrier(1, b(2));
    a.onBarrier(0, b(1));
    a.onBarrier(0, b(2));
    expect(log).toEqual(['aligned 2']);
    expect(a.isBlocked(0)).toBe(false);
  });

  it('a newer barrier aborts the pending checkpoint (subsumed) and starts aligning the new one', () => {
    const { a, log } = aligner(2);
    a.onBarrier(0, b(1));
    a.onBarrier(1, b(2));
    expect(log).toEqual(['aborted 1: subsumed by checkpoint 2']);
    expect(a.isBlocked(0)).toBe(false);
    expect(a.isBlocked(1)).toBe(true);
    a.onBarrier(0, b(1)); // late barrier of the aborted checkpoint
    expect(a.isBlocked(0)).toBe(false);
    a.onBarrier(0, b(2));
    expect(log).toEqual(['aborted 1: subsumed by checkpoint 2', 'aligned 2']);
  });

  it('end of input on a channel counts as its barrier: the pending checkpoint aligns over the channels still open', () => {
    const { a, log } = aligner(3);
    a.onBarrier(0, b(1));
    a.onEndOfInput(2);
    expect(log).toEqual([]);
    expect(a.isBlocked(0)).toBe(true);
    a.onBarrier(1, b(1));
    expect(log).toEqual(['aligned 1']);
    expect(a.isBlocked(0)).toBe(false);
    a.onBarrier(0, b(2));
    a.onBarrier(1, b(2));
    expect(log[1]).toBe('aligned 2');
  });

  it('end of input of the last channel that had not delivered the barrier completes the alignment', () => {
    const { a, log } = aligner(2);
    a.onBarrier(0, b(1));
    a.onEndOfInput(1);
    expect(log).toEqual(['aligned 1']);
    expect(a.isBlocked(0)).toBe(false);
  });

  it('end of input with nothing pending only reduces the channels to align', () => {
    const { a, log } = aligner(2);
    a.onEndOfInput(0);
    a.onBarrier(1, b(1));
    expect(log).toEqual(['aligned 1']);
  });

  it('a cancel marker aborts the pending checkpoint and makes its barriers obsolete', () => {
    const { a, log } = aligner(2);
    a.onBarrier(0, b(3));
    a.onCancel(3);
    expect(log).toEqual(['aborted 3: cancelled upstream']);
    expect(a.isBlocked(0)).toBe(false);
    a.onBarrier(1, b(3));
    expect(a.isBlocked(1)).toBe(false);
    a.onCancel(4); // cancel of a checkpoint not seen yet: its barriers are obsolete too
    a.onBarrier(0, b(4));
    expect(a.isBlocked(0)).toBe(false);
    expect(log.length).toBe(1);
  });
});

describe('BarrierAligner.removeInput (a drained slot left a live rescale)', () => {
  it('forgets an ended channel: later channels move down, and alignment counts only those left', () => {
    const { a, log } = aligner(3);
    expect(() => a.removeInput(1), 'an open channel stays').toThrow(/still open/);
    a.onEndOfInput(1);
    a.removeInput(1);
    a.onBarrier(0, b(4));
    expect(a.isBlocked(0)).toBe(true);
    expect(log).toEqual([]);
    a.onBarrier(1, b(4)); // the former channel 2
    expect(log).toEqual(['aligned 4']);
    // The next checkpoint: two channels, nothing else holds it.
    a.onBarrier(1, b(5));
    a.onBarrier(0, b(5));
    expect(log).toEqual(['aligned 4', 'aligned 5']);
  });

  it('a channel that ends after a removal is the one the gate names by its new index', () => {
    const { a, log } = aligner(3);
    a.onEndOfInput(0);
    a.removeInput(0); // channels 1 and 2 are 0 and 1 now
    a.onBarrier(1, b(4));
    a.onEndOfInput(0); // the former channel 1 ends: every channel left delivered barrier 4
    expect(log).toEqual(['aligned 4']);
  });
});
