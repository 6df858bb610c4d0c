import { describe, expect, it } from 'vitest';
import { countRestart, RESTART_TIMES_KEPT } from './restart-count.ts';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 10, 0, s));
const iso = (s: number) => at(s).toISOString();

describe('restarts counted against maxRestarts', () => {
  it('without a window, counts every restart since the last non-restart deployment', () => {
    expect(countRestart({}, at(0), undefined)).toEqual({ restarts: 1, restartTimes: [iso(0)] });
    // Restarts long ago still count; a status written before restartTimes existed keeps its count.
    expect(countRestart({ restarts: 4, restartTimes: [iso(0)] }, at(59), undefined)).toEqual({
      restarts: 5,
      restartTimes: [iso(0), iso(59)],
    });
  });

  it('with a window, counts only the restarts at most that old, plus this one', () => {
    const st = { restarts: 3, restartTimes: [iso(0), iso(20), iso(40)] };
    // 30 s window at t=50: the restart at 0 is 50 s old (out), 20 is 30 s old (in), 40 is in.
    expect(countRestart(st, at(50), 30_000)).toEqual({ restarts: 3, restartTimes: [iso(20), iso(40), iso(50)] });
    // All out of the window: this restart is restart 1 again (and waits backoff.initial).
    expect(countRestart(st, at(100), 30_000)).toEqual({ restarts: 1, restartTimes: [iso(100)] });
    // status.restarts is not trusted with a window: times unknown (older operator) do not count.
    expect(countRestart({ restarts: 7 }, at(0), 30_000)).toEqual({ restarts: 1, restartTimes: [iso(0)] });
    expect(countRestart({ restartTimes: ['not a time', iso(10)] }, at(15), 30_000).restarts).toBe(2);
  });

  it('keeps at most RESTART_TIMES_KEPT times, the newest', () => {
    const many = Array.from({ length: RESTART_TIMES_KEPT }, (_, i) => new Date(at(0).getTime() + i).toISOString());
    const next = countRestart({ restarts: RESTART_TIMES_KEPT, restartTimes: many }, at(1), undefined);
    expect(next.restarts).toBe(RESTART_TIMES_KEPT + 1);
    expect(next.restartTimes).toHaveLength(RESTART_TIMES_KEPT);
    expect(next.restartTimes[0]).toBe(many[1]);
    expect(next.restartTimes.at(-1)).toBe(iso(1));
  });
});
