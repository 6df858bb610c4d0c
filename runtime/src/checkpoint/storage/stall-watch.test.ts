import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StallWatch, stallWarnAfterMs } from './stall-watch.ts';

describe('StallWatch: a read stalls after boundMs without progress, never by its total time', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  function watch(boundMs: number) {
    const warns: number[] = [];
    const resumes: number[] = [];
    let failed: Error | undefined;
    const w = new StallWatch({
      boundMs,
      onWarn: (idle) => warns.push(idle),
      onResume: (idle) => resumes.push(idle),
      stallError: (idle) => new Error(`idle ${idle}`),
    });
    w.stalled.catch((e: Error) => (failed = e));
    return { w, warns, resumes, failed: () => failed };
  }

  it('rejects at the bound, warning first at half of it (at most 10 s), then every 30 s', async () => {
    const { warns, failed } = watch(100_000);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(warns).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(warns).toEqual([10_000]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(warns).toEqual([10_000, 40_000]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(warns).toEqual([10_000, 40_000, 70_000]);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(failed()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(failed()?.message).toBe('idle 100000');
    expect(warns).toHaveLength(3);
    expect(stallWarnAfterMs(3000)).toBe(1500);
  });

  it('a slow read that keeps progressing never fails, however long it takes in total', async () => {
    const { w, warns, failed } = watch(3000);
    for (let i = 0; i < 100; i++) {
      await vi.advanceTimersByTimeAsync(1400);
      w.progress();
    }
    expect(failed()).toBeUndefined();
    expect(warns).toEqual([]);
    w.stop();
  });

  it('a stall that ends within the bound reports its end; warnings stay 30 s apart across stalls', async () => {
    const { w, warns, resumes, failed } = watch(60_000);
    await vi.advanceTimersByTimeAsync(12_000);
    expect(warns).toEqual([10_000]);
    w.progress();
    expect(resumes).toEqual([12_000]);
    await vi.advanceTimersByTimeAsync(27_999); // a second stall: past 10 s idle, but < 30 s since the warning
    expect(warns).toEqual([10_000]);
    await vi.advanceTimersByTimeAsync(1); // 28 s idle, 30 s since the warning
    expect(warns).toEqual([10_000, 28_000]);
    await vi.advanceTimersByTimeAsync(1_000);
    w.progress();
    expect(resumes).toEqual([12_000, 29_000]);
    w.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(failed()).toBeUndefined();
  });
});
