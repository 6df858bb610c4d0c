import { describe, expect, it } from 'vitest';
import { WatermarkHandover } from './watermark-handover.ts';
import { PartitionWatermarks } from '../time/partition-watermarks.ts';
import { MIN_WATERMARK } from '../core/watermark.ts';

function source(idleTimeoutMs?: number): { pw: PartitionWatermarks; h: WatermarkHandover; out: number[] } {
  const out: number[] = [];
  const pw = new PartitionWatermarks(0, idleTimeoutMs, { watermark: (wm) => out.push(wm), idle: () => undefined });
  return { pw, h: new WatermarkHandover(pw), out };
}

describe('a moved partition’s watermark (live rescale)', () => {
  it('stays a floor under the old owner until the new owner caught up, then idles after that barrier', () => {
    const a = source();
    a.pw.addPartition(0); // p0, stays
    a.pw.addPartition(0); // p1, moves; it lags
    a.pw.onRecord(0, 5000, 0);
    a.pw.onRecord(1, 1000, 0);
    a.pw.emit(0);
    expect(a.pw.watermark).toBe(999);
    const floor = a.h.readerContext().floorPartition(1);
    expect(floor.watermark).toBe(999);
    a.pw.emit(10_000);
    expect(a.pw.watermark).toBe(999); // the floor holds: no jump to 4999

    const b = source();
    b.pw.addPartition(0);
    b.pw.onRecord(0, 3000, 0);
    b.pw.emit(0); // b emitted 2999, ahead of the moved partition
    const seeded = b.pw.addPartition(0, floor.watermark);
    expect(b.pw.partitionWatermark(seeded)).toBe(999);
    let reported: number | undefined;
    b.h.readerContext().reportCaughtUp(seeded, (id) => (reported = id));
    b.h.afterBarrier(7);
    expect(reported).toBeUndefined(); // 999 < 2999: its records up to 2999 still come through b
    b.pw.onRecord(seeded, 3500, 0);
    b.pw.emit(0);
    b.h.afterBarrier(8);
    expect(reported).toBe(8);

    floor.releaseAt(8);
    a.h.afterBarrier(7); // an older barrier (a lags): not yet
    a.pw.emit(0);
    expect(a.pw.watermark).toBe(999);
    a.h.afterBarrier(8);
    expect(a.pw.watermark).toBe(4999);
  });

  it('a floor neither idles by timeout nor holds its alignment group back', () => {
    const a = source(100);
    a.pw.addPartition(0);
    a.pw.addPartition(0);
    a.pw.onRecord(0, 5000, 0);
    a.pw.onRecord(1, 1000, 0);
    a.h.readerContext().floorPartition(1);
    a.pw.onRecord(0, 6000, 500);
    a.pw.emit(500); // the floor had no record for 500 ms > 100 ms
    expect(a.pw.watermark).toBe(999);
    expect(a.pw.alignmentWatermark()).toBe(5999);
    const paused = new Set<number>();
    a.pw.aheadOf(0, 500, paused);
    expect([...paused]).toEqual([0]);
  });

  it('a joining slot reports at its first barrier once its output is active', () => {
    const b = source();
    const marker = b.pw.addPartition(0);
    b.pw.idlePartition(marker); // owns nothing: idle output
    const p = b.pw.addPartition(0, 999);
    let reported: number | undefined;
    b.h.readerContext().reportCaughtUp(p, (id) => (reported = id));
    expect(b.pw.caughtUpWithOutput(p)).toBe(false);
    b.pw.emit(0); // the seed is emitted
    expect(b.pw.watermark).toBe(999);
    b.h.afterBarrier(3);
    expect(reported).toBe(3);
  });

  it('moved on before it caught up (A → B → C): B reports to A when C caught up', () => {
    const b = source();
    b.pw.addPartition(0);
    b.pw.onRecord(0, 3000, 0);
    b.pw.emit(0);
    const p = b.pw.addPartition(0, 999);
    const toA: number[] = [];
    b.h.readerContext().reportCaughtUp(p, (id) => toA.push(id));
    const floor = b.h.readerContext().floorPartition(p);
    expect(floor.watermark).toBe(999);
    b.h.afterBarrier(4);
    expect(toA).toEqual([]);
    floor.releaseAt(5); // C caught up at 5
    b.h.afterBarrier(5);
    expect(toA).toEqual([5]);
    expect(b.pw.watermark).toBe(2999);
  });

  it('a partition with no record yet starts at −∞ without a seed', () => {
    const b = source();
    expect(b.pw.partitionWatermark(b.pw.addPartition(0))).toBe(MIN_WATERMARK);
  });
});
