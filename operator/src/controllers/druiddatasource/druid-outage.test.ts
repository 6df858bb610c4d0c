import { describe, expect, it } from 'vitest';
import { DruidOutages } from './druid-outage.ts';

const at = (s: number): Date => new Date(Date.UTC(2026, 0, 1) + s * 1000);

describe('DruidOutages', () => {
  it('backs off exponentially per object up to maxMs, and starts again after a recovery', () => {
    const o = new DruidOutages({ initialMs: 1_000, maxMs: 30_000 });
    const delays = Array.from({ length: 8 }, (_, i) => o.failed('ns/a', 'http://druid', at(i)).retryInMs);
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect(o.failed('ns/b', 'http://druid', at(9)).retryInMs).toBe(1_000);
    expect(o.recovered('ns/a', 'http://druid')).toEqual({ failures: 8, since: at(0) });
    expect(o.recovered('ns/a', 'http://druid')).toBeUndefined();
    expect(o.failed('ns/a', 'http://druid', at(100))).toMatchObject({ failures: 1, since: at(100), retryInMs: 1_000 });
  });

  it('stays finite after very many failures', () => {
    const o = new DruidOutages({ initialMs: 1_000, maxMs: 30_000 });
    let last = 0;
    for (let i = 0; i < 2_000; i++) last = o.failed('ns/a', 'http://druid', at(i)).retryInMs;
    expect(last).toBe(30_000);
  });

  it('logs once per Druid URL when its outage starts, then at most every logEveryMs, whatever the objects', () => {
    const o = new DruidOutages({ logEveryMs: 30_000 });
    const logged = (key: string, url: string, s: number): boolean => o.failed(key, url, at(s)).log;
    expect(logged('ns/a', 'http://druid', 0)).toBe(true);
    expect(logged('ns/b', 'http://druid', 1)).toBe(false);
    expect(logged('ns/c', 'http://other', 1)).toBe(true);
    expect(logged('ns/a', 'http://druid', 29)).toBe(false);
    expect(logged('ns/b', 'http://druid', 30)).toBe(true);
    expect(logged('ns/a', 'http://druid', 45)).toBe(false);
    // Druid answered: the next outage's start is logged at once.
    o.recovered('ns/a', 'http://druid');
    expect(logged('ns/a', 'http://druid', 46)).toBe(true);
  });
});
