import { describe, expect, it } from 'vitest';
import { PartitionWatermarks } from './partition-watermarks.ts';
import { MAX_WATERMARK, MIN_WATERMARK } from '../core/watermark.ts';

function collect(): { wms: number[]; idles: boolean[]; out: { watermark(wm: number): void; idle(i: boolean): void } } {
  const wms: number[] = [];
  const idles: boolean[] = [];
  return { wms, idles, out: { watermark: (wm) => wms.push(wm), idle: (i) => idles.push(i) } };
}

describe('partition watermarks', () => {
  it('emit the minimum over partitions of max timestamp − bound − 1', () => {
    const c = collect();
    const pw = new PartitionWatermarks(10, undefined, c.out);
    pw.addPartition(0);
    pw.addPartition(0);
    pw.onRecord(0, 100, 0);
    pw.onRecord(1, 50, 0);
    pw.emit(0);
    expect(pw.watermark).toBe(39);
  });

  it('follow the clock under ingestion time while no record arrives, leaving idle partitions alone', () => {
    const c = collect();
    const pw = new PartitionWatermarks(0, 1000, c.out);
    pw.addPartition(0);
    pw.addPartition(0);
    pw.onRecord(0, 100, 100);
    pw.onRecord(1, 100, 100);
    pw.emit(100);
    expect(pw.watermark).toBe(99);
    pw.advanceClock(600);
    pw.emit(600);
    expect(pw.watermark).toBe(599);
    pw.onRecord(0, 1500, 1500);
    pw.emit(1500); // partition 1 silent for 1400 ms > 1000: idle, so partition 0 alone counts
    expect(c.idles).toEqual([]);
    expect(pw.watermark).toBe(1499);
    pw.advanceClock(1700);
    pw.emit(1700);
    expect(pw.watermark).toBe(1699);
  });

  it('give a finished partition the watermark +∞: it holds nothing back and never makes the source idle', () => {
    const c = collect();
    const pw = new PartitionWatermarks(0, undefined, c.out);
    pw.addPartition(0);
    pw.addPartition(0);
    pw.onRecord(0, 100, 0);
    pw.onRecord(1, 50, 0);
    pw.emit(0);
    expect(pw.watermark).toBe(49);
    pw.finishPartition(1);
    expect(pw.watermark).toBe(99);
    pw.finishPartition(0);
    expect(pw.watermark).toBe(MAX_WATERMARK);
    expect(c.idles).toEqual([]);
  });

  it('let an idle partition (a slot owning none yet) report idle, unlike a finished one', () => {
    const c = collect();
    const pw = new PartitionWatermarks(0, undefined, c.out);
    pw.idlePartition(pw.addPartition(0));
    expect(c.idles).toEqual([true]);
    expect(c.wms).toEqual([]);
  });

  it('leave a caught-up partition out of the alignment minimum but not out of the watermark', () => {
    const c = collect();
    const pw = new PartitionWatermarks(0, undefined, c.out);
    const early = pw.addPartition(0);
    const empty = pw.addPartition(0);
    const busy = pw.addPartition(0);
    pw.onRecord(early, 100, 0);
    pw.onRecord(busy, 5000, 0);
    pw.emit(0);
    expect(pw.alignmentWatermark()).toBe(MIN_WATERMARK); // the empty partition has nothing yet
    pw.setCaughtUp(empty, true);
    pw.setCaughtUp(early, true);
    expect(pw.alignmentWatermark()).toBe(4999); // only the partition with a backlog counts
    expect(pw.watermark).toBe(MIN_WATERMARK); // lateness still waits for every partition
    // The early partition gets a record again: it rejoins with that record's watermark.
    pw.setCaughtUp(early, false);
    pw.onRecord(early, 3000, 1);
    expect(pw.alignmentWatermark()).toBe(2999);
    pw.setCaughtUp(busy, true);
    pw.setCaughtUp(early, true);
    expect(pw.alignmentWatermark()).toBe(MAX_WATERMARK);
  });
});

describe('partitions handed back and forth (live rescales)', () => {
  it('reuse a released floor: the partitions stay bounded, and a reused one starts like a new one', () => {
    const c = collect();
    const pw = new PartitionWatermarks(0, undefined, c.out);
    const stays = pw.addPartition(0);
    pw.onRecord(stays, 10_000, 0);
    let moving = pw.addPartition(0);
    pw.onRecord(moving, 1_000, 0);
    pw.emit(0);
    expect(pw.watermark).toBe(999);
    for (let round = 0; round < 50; round++) {
      // Handed over: a floor until its new owner caught up, then released for good.
      pw.floorPartition(moving);
      pw.releaseFloor(moving);
      pw.emit(0);
      expect(pw.watermark).toBe(9999 + round);
      // Taken back at a watermark behind the output: seeded there, it must not move the output back
      // nor let it pass records it still brings, until its own watermark catches up.
      moving = pw.addPartition(0, 5_000);
      expect(pw.partitionWatermark(moving)).toBe(5_000);
      pw.onRecord(stays, 10_000 + round + 1, 0);
      pw.emit(0);
      expect(pw.watermark).toBe(9999 + round);
      pw.onRecord(moving, 20_000 + round, 0);
      pw.emit(0);
      expect(pw.watermark).toBe(10_000 + round);
    }
    expect(pw.partitionCount).toBe(2);
  });
});
