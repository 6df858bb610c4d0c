// Alignment groups: the minimum over declared members, −∞ until every member reported, +∞
// members (idle, finished) hold nothing back, remote reports merge and local ones are sent.
import { describe, expect, it } from 'vitest';
import { WatermarkAlignment } from './watermark-alignment.ts';
import { MAX_WATERMARK, MIN_WATERMARK } from '../core/watermark.ts';

describe('watermark alignment groups', () => {
  it('hold the group at −∞ until every member reported, then follow the minimum', () => {
    const a = new WatermarkAlignment();
    a.declare('g', 's#0', true);
    a.declare('g', 's#1', false);
    let changes = 0;
    a.onChange('g', () => changes++);
    a.report('g', 's#0', 5000);
    expect(a.min('g')).toBe(MIN_WATERMARK);
    a.applyRemote([['g', 's#1', 3000]]);
    expect(a.min('g')).toBe(3000);
    a.report('g', 's#0', MAX_WATERMARK); // finished
    expect(a.min('g')).toBe(3000);
    a.applyRemote([['g', 's#1', MAX_WATERMARK]]);
    expect(a.min('g')).toBe(MAX_WATERMARK);
    expect(changes).toBe(2);
  });

  it('sends only local members, and ignores remote reports for local or unknown members', () => {
    const a = new WatermarkAlignment();
    a.declare('g', 's#0', true);
    a.declare('g', 's#1', false);
    a.report('g', 's#0', 10);
    a.report('g', 's#0', 20);
    expect(a.takeLocalChanges()).toEqual([['g', 's#0', 20]]);
    expect(a.takeLocalChanges()).toEqual([]);
    a.applyRemote([
      ['g', 's#0', 1],
      ['g', 'x#9', 1],
      ['h', 's#1', 1],
    ]);
    expect(a.min('g')).toBe(MIN_WATERMARK); // s#1 has still not reported
    expect(a.localSnapshot()).toEqual([['g', 's#0', 20]]);
  });
});

describe('a member leaves its group (a drained slot left a live rescale)', () => {
  it('the minimum is recomputed without it, its listener stops, and an empty group goes', () => {
    const a = new WatermarkAlignment();
    a.declare('g', 's#0', true);
    a.declare('g', 's#1', true);
    let changes = 0;
    const stop = a.onChange('g', () => changes++);
    a.report('g', 's#0', 5000);
    a.report('g', 's#1', 3000);
    expect(a.min('g')).toBe(3000);
    a.takeLocalChanges();
    a.report('g', 's#1', 4000);
    a.remove('g', 's#1');
    expect(a.min('g')).toBe(5000);
    expect(a.takeLocalChanges(), 'its unsent report goes with it').toEqual([]);
    expect(a.localSnapshot()).toEqual([['g', 's#0', 5000]]);
    const before = changes;
    stop();
    a.report('g', 's#0', 6000);
    expect(changes).toBe(before);
    a.remove('g', 's#0');
    expect(a.hasGroups).toBe(false);
    // Declared again (the slot joins again): −∞ until it reports.
    a.declare('g', 's#1', true);
    expect(a.min('g')).toBe(MIN_WATERMARK);
  });
});
