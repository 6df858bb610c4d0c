import { describe, expect, it } from 'vitest';
import { RestartProgress } from './restart-progress.ts';

describe('restart progress', () => {
  it('reports N attempts in a row without a checkpoint and keeps the backoff at the floor instead of doubling to the maximum', () => {
    const r = new RestartProgress({ backoffMs: 500, maxBackoffMs: 10_000, floorMs: 1000, warnAfter: 3 });
    const verdicts = [];
    for (let i = 0; i < 6; i++) {
      r.attemptStarted(i * 5000);
      verdicts.push(r.attemptFailed());
    }
    expect(verdicts.map((v) => v.streak)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(verdicts.map((v) => v.noProgress)).toEqual([false, false, true, true, true, true]);
    expect(verdicts.map((v) => v.backoffMs)).toEqual([500, 1000, 1000, 1000, 1000, 1000]);
  });

  it('caps the backoff at the measured time to a first checkpoint while none completes; a checkpoint resets streak and ladder', () => {
    const r = new RestartProgress({ backoffMs: 500, maxBackoffMs: 10_000, floorMs: 1000, warnAfter: 3 });
    r.attemptStarted(0);
    r.checkpointCompleted(2500);
    r.checkpointCompleted(3500);
    expect(r.timeToFirstCheckpointMs).toBe(2500);
    expect(r.attemptFailed()).toEqual({ backoffMs: 500, streak: 0, noProgress: false });
    const after = [];
    for (let i = 0; i < 5; i++) {
      r.attemptStarted(10_000 + i * 10_000);
      after.push(r.attemptFailed());
    }
    expect(after.map((v) => v.backoffMs)).toEqual([1000, 2000, 2500, 2500, 2500]);
    expect(after.map((v) => v.streak)).toEqual([1, 2, 3, 4, 5]);
    r.attemptStarted(100_000);
    r.checkpointCompleted(100_800);
    expect(r.attemptFailed()).toEqual({ backoffMs: 500, streak: 0, noProgress: false });
    expect(r.timeToFirstCheckpointMs).toBe(800);
  });

  it('an attempt that completed a checkpoint restarts the ladder: the next backoff is the first one again', () => {
    const r = new RestartProgress({ backoffMs: 500, maxBackoffMs: 10_000 });
    for (let i = 0; i < 5; i++) {
      r.attemptStarted(i * 10_000);
      r.checkpointCompleted(i * 10_000 + 700);
      expect(r.attemptFailed().backoffMs).toBe(500);
    }
  });
});
