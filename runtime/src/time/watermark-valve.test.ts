import { describe, expect, it } from 'vitest';
import { PartitionWatermarks } from './partition-watermarks.ts';
import { WatermarkValve } from './watermark-valve.ts';
import { MIN_WATERMARK } from '../core/watermark.ts';
import { TimerService } from './timer-service.ts';
import { KeyedStateBackend } from '../state/keyed-state.ts';

function valve(n: number): { v: WatermarkValve; wms: number[]; idles: boolean[] } {
  const wms: number[] = [];
  const idles: boolean[] = [];
  return { v: new WatermarkValve(n, { watermark: (w) => wms.push(w), idle: (i) => idles.push(i) }), wms, idles };
}

describe('WatermarkValve', () => {
  it('a channel added to an idle valve makes it active and holds the output until it catches up', () => {
    const { v, wms, idles } = valve(1);
    v.inputWatermark(0, 100);
    v.inputIdle(0, true);
    expect(idles).toEqual([true]);
    const ch = v.addChannel();
    expect(idles).toEqual([true, false]);
    v.inputWatermark(ch, 50);
    expect(wms).toEqual([100]);
    v.inputWatermark(ch, 150);
    expect(wms).toEqual([100, 150]);
  });

  it('emits the minimum over channels, only when it rises', () => {
    const { v, wms } = valve(2);
    v.inputWatermark(0, 10);
    expect(wms).toEqual([]);
    v.inputWatermark(1, 5);
    expect(wms).toEqual([5]);
    v.inputWatermark(1, 20);
    expect(wms).toEqual([5, 10]);
    v.inputWatermark(0, 8); // regression on a channel is ignored
    expect(wms).toEqual([5, 10]);
  });

  it('an idle channel stops holding back the watermark; all idle flushes the max and reports idle', () => {
    const { v, wms, idles } = valve(3);
    v.inputWatermark(0, 100);
    v.inputWatermark(1, 50);
    v.inputWatermark(2, 10);
    expect(wms).toEqual([10]);
    v.inputIdle(2, true);
    expect(wms).toEqual([10, 50]);
    v.inputIdle(1, true);
    expect(wms).toEqual([10, 50, 100]);
    v.inputIdle(0, true);
    expect(idles).toEqual([true]);
    expect(v.isIdle).toBe(true);
  });

  it('a reactivated channel rejoins only once it caught up with the output', () => {
    const { v, wms, idles } = valve(2);
    v.inputWatermark(0, 100);
    v.inputWatermark(1, 10);
    v.inputIdle(1, true);
    expect(wms).toEqual([10, 100]);
    v.inputWatermark(1, 50); // behind the output: active again but not aligned
    expect(idles).toEqual([]);
    v.inputWatermark(0, 200);
    expect(wms).toEqual([10, 100, 200]);
    v.inputWatermark(1, 150); // still behind 200
    v.inputWatermark(0, 300);
    expect(wms.at(-1)).toBe(300);
    v.inputWatermark(1, 250); // not aligned (250 < 300): the output does not move back
    expect(wms.at(-1)).toBe(300);
    v.inputWatermark(1, 400);
    v.inputWatermark(0, 500);
    expect(wms.at(-1)).toBe(400); // aligned again: min(500, 400)
  });
});

describe('PartitionWatermarks', () => {
  it('bounded out-of-orderness: watermark = max ts − bound − 1', () => {
    const out: number[] = [];
    const pw = new PartitionWatermarks(5000, undefined, { watermark: (w) => out.push(w), idle: () => {} });
    const p = pw.addPartition(0);
    pw.onRecord(p, 10_000, 0);
    pw.onRecord(p, 8_000, 0);
    pw.emit(0);
    expect(out).toEqual([4_999]);
  });

  it('an idle partition does not hold back the watermark', () => {
    const out: number[] = [];
    const idles: boolean[] = [];
    const pw = new PartitionWatermarks(0, 1000, { watermark: (w) => out.push(w), idle: (i) => idles.push(i) });
    const a = pw.addPartition(0);
    const b = pw.addPartition(0);
    pw.onRecord(a, 100, 0);
    pw.onRecord(b, 50, 0);
    pw.emit(0);
    expect(pw.watermark).toBe(49);
    // Partition b goes silent; a keeps receiving.
    pw.onRecord(a, 5000, 900);
    pw.emit(900);
    expect(pw.watermark).toBe(49);
    pw.onRecord(a, 6000, 1500);
    pw.emit(1500); // b silent for 1500ms > 1000ms: idle
    expect(pw.watermark).toBe(5999);
    // b becomes active again, behind the output: it does not move the watermark back.
    pw.onRecord(b, 60, 1600);
    pw.emit(1600);
    expect(pw.watermark).toBe(5999);
    expect(out.every((w, i) => i === 0 || w > (out[i - 1] as number))).toBe(true);
    // All partitions idle → the source reports idle.
    pw.emit(5000);
    expect(idles).toEqual([true]);
  });

  it('starts at the minimum watermark', () => {
    const pw = new PartitionWatermarks(0, undefined, { watermark: () => {}, idle: () => {} });
    pw.addPartition(0);
    expect(pw.watermark).toBe(MIN_WATERMARK);
  });
});

describe('TimerService', () => {
  it('fires in timestamp order, deduplicates, supports delete and timers added while firing', () => {
    const t = new TimerService();
    const fired: string[] = [];
    t.register(1, 'a', 0, 30);
    t.register(1, 'a', 0, 10);
    t.register(1, 'a', 0, 10); // duplicate
    t.register(2, 'b', 0, 20);
    t.register(2, 'b', 'x', 25);
    t.delete(2, 'b', 'x', 25);
    t.advance(20, (x) => {
      fired.push(`${x.key}@${x.ts}`);
      if (x.ts === 10) t.register(1, 'a', 1, 15);
    });
    expect(fired).toEqual(['a@10', 'a@15', 'b@20']);
    expect(t.nextTimestamp()).toBe(30);
  });

  it('survives a snapshot and restore through keyed state', () => {
    const b = new KeyedStateBackend(8, { start: 0, end: 7 });
    const t = new TimerService().bind(b, 'timers');
    t.register(3, 'k', 100, 199);
    t.register(5, 'j', 'ns', 50);
    const snap = b.snapshot();
    const b2 = new KeyedStateBackend(8, { start: 0, end: 7 });
    const t2 = new TimerService().bind(b2, 'timers');
    b2.restore([snap]);
    const fired: [number, string, number | string][] = [];
    t2.advance(1000, (x) => fired.push([x.ts, x.key, x.ns]));
    expect(fired).toEqual([
      [50, 'j', 'ns'],
      [199, 'k', 100],
    ]);
  });
});

describe('WatermarkValve.removeChannel (a drained slot left a live rescale)', () => {
  it('forgets an ended (idle) channel: the output follows the channels left', () => {
    const { v, wms } = valve(3);
    v.inputWatermark(0, 10);
    v.inputWatermark(2, 30);
    v.inputIdle(1, true); // ended
    expect(wms).toEqual([10]);
    v.removeChannel(1);
    expect(v.channelCount).toBe(2);
    v.inputWatermark(0, 40); // channel 1 is the former channel 2 now
    expect(wms).toEqual([10, 30]);
    v.inputWatermark(1, 50);
    expect(wms).toEqual([10, 30, 40]);
  });
});
