// LookupOutage on a controlled clock: what the real-Druid chaos test (druid-lookup-faults)
// cannot wait for in its budget — an outage longer than 30 s warns again at most every 30 s
// (not once per retry), `since` stays the outage's start across reports, the backoff doubles to
// its cap and never sleeps past the bound, and a recovery clears the report and starts afresh.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { DependencyOutage } from '../core/outage.ts';
import { isTributaryError } from '../errors.ts';
import { LookupOutage } from './lookup-outage.ts';

function setup(timeoutMs = 120_000) {
  let now = 1_000_000;
  const warns: string[] = [];
  const infos: string[] = [];
  const reports: (DependencyOutage | undefined)[] = [];
  const logger = pino({ level: 'info' }, { write: () => undefined });
  logger.warn = ((_o: unknown, msg: string) => void warns.push(msg)) as typeof logger.warn;
  logger.info = ((_o: unknown, msg: string) => void infos.push(msg)) as typeof logger.info;
  const o = new LookupOutage(
    {
      dependency: 'druid',
      target: 'http://druid:8888',
      isTransient: () => true,
      timeoutMs,
      timeoutText: `unavailableTimeout ${timeoutMs / 1000}s`,
      report: (r) => reports.push(r),
    },
    'countries',
    logger,
    () => now,
  );
  const err = new Error('lookup table "countries": Druid at http://druid:8888 is unreachable: connect ECONNREFUSED');
  return { o, err, warns, infos, reports, advance: (ms: number) => (now += ms), at: () => now };
}

describe('LookupOutage', () => {
  it('warns when it starts, then at most every 30 s; backs off 0.5 s doubling to 5 s; since stays fixed', () => {
    const t = setup();
    const start = t.at();
    const delays: number[] = [];
    // 100 s of failures, each retry after the delay it asked for.
    while (t.at() - start < 100_000) {
      const d = t.o.failed(t.err, false);
      delays.push(d);
      t.advance(d);
    }
    expect(delays.slice(0, 6)).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
    expect(Math.max(...delays)).toBe(5000);
    // 100 s: the first line, then one each 30 s (at most): 4, while there were ~25 retries.
    expect(delays.length).toBeGreaterThan(20);
    expect(t.warns.length).toBe(4);
    expect(t.warns[0]).toBe(
      'lookup table "countries": Druid at http://druid:8888 unavailable; keeping the last table, retrying with ' +
        'backoff (next in 500 ms, at most every 5000 ms; logged again at most every 30 s); fails after ' +
        'unavailableTimeout 120s: Druid at http://druid:8888 is unreachable: connect ECONNREFUSED',
    );
    const since = new Date(start).toISOString();
    expect(t.reports.every((r) => r?.since === since)).toBe(true);
    expect(t.reports[0]).toEqual({
      dependency: 'druid',
      component: 'lookup "countries"',
      target: 'http://druid:8888',
      since,
      error: 'Druid at http://druid:8888 is unreachable: connect ECONNREFUSED',
      bound: 'fails after unavailableTimeout 120s',
    });
  });

  it('never sleeps past the bound, then fails with TRIB_LOOKUP_UNAVAILABLE naming the table and URL', () => {
    const t = setup(3_000);
    const delays: number[] = [];
    let failure: unknown;
    try {
      for (;;) {
        const d = t.o.failed(t.err, true);
        delays.push(d);
        t.advance(d);
      }
    } catch (e) {
      failure = e;
    }
    expect(delays).toEqual([500, 1000, 1500]);
    expect(isTributaryError(failure, 'TRIB_LOOKUP_UNAVAILABLE')).toBe(true);
    expect((failure as Error).message).toBe(
      'lookup table "countries": Druid at http://druid:8888 unavailable for 3.0 s (unavailableTimeout 3s, 4 attempts): ' +
        'Druid at http://druid:8888 is unreachable: connect ECONNREFUSED',
    );
    expect(t.warns).toHaveLength(1);
    expect(t.warns[0]).toContain('the job waits for its first load');
  });

  it('a recovery clears the outage and logs it once; the next outage starts afresh', () => {
    const t = setup();
    t.o.recovered();
    expect(t.reports).toEqual([]);
    expect(t.infos).toEqual([]);
    t.o.failed(t.err, false);
    t.advance(2_500);
    t.o.failed(t.err, false);
    t.advance(1_000);
    t.o.recovered();
    expect(t.reports.at(-1)).toBeUndefined();
    expect(t.infos).toEqual([
      'lookup table "countries": Druid at http://druid:8888 answers again after 3.5 s and 2 failed attempts',
    ]);
    t.advance(10_000);
    expect(t.o.failed(t.err, false)).toBe(500);
    expect(t.warns).toHaveLength(2);
    expect(t.reports.at(-1)?.since).toBe(new Date(t.at()).toISOString());
  });

  it('trouble within a load: warns and reports at once from when it began; the load failing after the bound expires', () => {
    const t = setup(6_000);
    const began = t.at();
    t.advance(2_000);
    // A call of the load timed out after 2 s: the outage began when the call did.
    t.o.trouble(t.err, false, began);
    expect(t.warns).toEqual([
      'lookup table "countries": Druid at http://druid:8888 unavailable; keeping the last table, the load ' +
        'retrying its calls (logged again at most every 30 s); fails after unavailableTimeout 6s: ' +
        'Druid at http://druid:8888 is unreachable: connect ECONNREFUSED',
    ]);
    expect(t.reports[0]?.since).toBe(new Date(began).toISOString());
    t.advance(2_000);
    t.o.trouble(t.err, false, began);
    expect(t.warns, 'one warning, not one per retried call').toHaveLength(1);
    // The load gives up at its own bound (6 s after it began): the table's bound has passed too.
    t.advance(2_000);
    let thrown: unknown;
    try {
      t.o.failed(t.err, false);
    } catch (e) {
      thrown = e;
    }
    expect(isTributaryError(thrown) && thrown.code).toBe('TRIB_LOOKUP_UNAVAILABLE');
    expect((thrown as Error).message).toMatch(/unavailable for 6\.0 s \(unavailableTimeout 6s, 3 attempts\)/);
  });
});
