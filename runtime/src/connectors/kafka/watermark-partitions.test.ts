import { describe, expect, it } from 'vitest';
import type { HandedWatermark, SourceReaderContext } from '../api.ts';
import { WatermarkPartitions } from './watermark-partitions.ts';

/** A context that records what the reader declared, idled, floored and asked to report. */
function context(floors: boolean): { ctx: SourceReaderContext; log: string[] } {
  const log: string[] = [];
  let next = 0;
  const ctx = {
    addPartition: (wm?: number) => {
      log.push(`add ${next}${wm === undefined ? '' : ` at ${wm}`}`);
      return next++;
    },
    idlePartition: (i: number) => log.push(`idle ${i}`),
    finishPartition: (i: number) => log.push(`finish ${i}`),
    ...(floors
      ? {
          floorPartition: (i: number): HandedWatermark => {
            log.push(`floor ${i}`);
            return { watermark: 100 + i, releaseAt: (b) => log.push(`release ${i} at ${b}`) };
          },
          reportCaughtUp: (i: number, report: (b: number) => void) => {
            log.push(`report ${i}`);
            report(9);
          },
        }
      : {}),
  } as unknown as SourceReaderContext;
  return { ctx, log };
}

describe('Kafka watermark partitions in a live rescale', () => {
  it('the old owner floors a handed-over partition and gives its watermark', () => {
    const { ctx, log } = context(true);
    const w = new WatermarkPartitions();
    w.add([0, 1]);
    w.declare(ctx, () => false, false);
    const floors = w.removeAll(ctx, [1]);
    expect(floors.get(1)?.watermark).toBe(101);
    expect(log).toEqual(['add 0', 'add 1', 'floor 1']);
    expect([...w.index.keys()]).toEqual([0]);
  });

  it('a context without floors idles it at once, as before', () => {
    const { ctx, log } = context(false);
    const w = new WatermarkPartitions();
    w.add([0]);
    w.declare(ctx, () => false, false);
    expect(w.removeAll(ctx, [0]).size).toBe(0);
    expect(log).toEqual(['add 0', 'idle 0']);
  });

  it('the new owner declares a taken partition at its old watermark and asks for the report', () => {
    const { ctx, log } = context(true);
    const w = new WatermarkPartitions();
    const caught: number[] = [];
    w.add([3], new Map([[3, { watermark: 777, caughtUp: (b: number) => caught.push(b) }]]));
    w.declare(ctx, () => false, false);
    expect(log).toEqual(['add 0 at 777', 'report 0']);
    expect(caught).toEqual([9]);
  });

  it('handed on before it was declared: its old owner’s floor goes with it', () => {
    const { ctx } = context(true);
    const w = new WatermarkPartitions();
    const caught: number[] = [];
    w.add([3], new Map([[3, { watermark: 777, caughtUp: (b: number) => caught.push(b) }]]));
    const floors = w.removeAll(ctx, [3]);
    expect(floors.get(3)?.watermark).toBe(777);
    floors.get(3)?.releaseAt(12);
    expect(caught).toEqual([12]);
  });
});
