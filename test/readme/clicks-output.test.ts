import { describe, expect, it } from 'vitest';
import { duplicates, gaps, nextMinute, windowTotals, type WindowResult } from './clicks-output.ts';

const t0 = Date.parse('2026-01-01T10:00:00Z');
const r = (country: string, minute: number, clicks = 1): WindowResult => ({
  country,
  window_start: t0 + minute * 60_000,
  window_end: t0 + (minute + 1) * 60_000,
  clicks,
  users: 1,
});

describe('clicks output checks', () => {
  it('finds a (country, window) written twice', () => {
    expect(duplicates([r('de', 0), r('fr', 0), r('de', 1)])).toEqual([]);
    expect(duplicates([r('de', 0), r('fr', 0), r('de', 0)])).toEqual(['de@2026-01-01T10:00:00.000Z']);
  });

  it("finds minutes missing between a country's first and last window from a start", () => {
    expect(gaps([r('de', 0), r('de', 1), r('de', 3), r('fr', 5)], t0)).toEqual(['de@2026-01-01T10:02:00.000Z']);
    expect(gaps([r('de', 0), r('de', 2)], t0 + 60_000)).toEqual([]);
  });

  it('adds up the countries of each window from a start', () => {
    expect([...windowTotals([r('de', 0, 5), r('de', 1, 7), r('fr', 1, 3)], t0 + 60_000)]).toEqual([[t0 + 60_000, 10]]);
    expect(nextMinute(t0)).toBe(t0);
    expect(nextMinute(t0 + 1)).toBe(t0 + 60_000);
  });
});
