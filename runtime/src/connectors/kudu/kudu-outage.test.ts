// The kudu connectors' outage reporting: a warning once trouble outlasts a blip and then at most every
// bound/3 (30 s at most), never one per retry; the outage reported to the slot with a fixed
// `since`, cleared once a write succeeds; the final error naming the sink, masters and the server
// that did not answer. The last cases run a real KuduSink and KuduSource against masters on a loopback
// port no one listens on (connection refused for real): opening warns, reports and fails within `timeout`.
import { createServer } from 'node:net';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { DependencyOutage, ReportOutage } from '../../core/outage.ts';
import { TributaryError } from '../../errors.ts';
import { kuduError } from './client/kudu-errors.ts';
import { KuduSink } from './kudu-sink.ts';
import { KuduSource } from './kudu-source.ts';
import { KuduOutage } from './kudu-outage.ts';

interface LogLine {
  level: number;
  msg: string;
}

function harness(timeoutMs: number) {
  let now = Date.parse('2026-11-26T12:00:00.000Z');
  const lines: LogLine[] = [];
  const reports: (DependencyOutage | undefined)[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as LogLine) });
  const outage = new KuduOutage({
    role: 'sink',
    name: 'out',
    table: 't',
    masters: '10.0.0.1:7051',
    timeoutMs,
    timeoutText: `${timeoutMs / 1000}s`,
    logger,
    report: (o) => reports.push(o),
    now: () => now,
  });
  return { outage, lines, reports, now: () => now, advance: (ms: number) => (now += ms) };
}

const refused = kuduError(
  'TRIB_KUDU_CONNECT',
  'no leader master among 10.0.0.1:7051 (10.0.0.1:7051: connection to 10.0.0.1:7051 failed)',
);
const hung = kuduError('TRIB_KUDU_TIMEOUT', 'Write to 10.0.0.7:7050 timed out after 10000 ms');

describe('KuduOutage', () => {
  it('stays silent through a blip retried within a second', () => {
    const h = harness(30_000);
    for (let i = 0; i < 5; i++) {
      h.outage.retry('writing 20 rows to "t"', refused, h.now());
      h.advance(100);
    }
    h.outage.ok();
    expect(h.lines).toEqual([]);
    expect(h.reports).toEqual([]);
  });

  it('warns once it lasts, then every bound/3 (not per retry), reports with a fixed since, and clears', () => {
    const h = harness(30_000);
    // Retries every 200 ms for 25 s: 125 retries.
    for (let i = 0; i < 125; i++) {
      h.outage.retry('writing 20 rows to "t"', refused, h.now());
      h.advance(200);
    }
    const warnings = h.lines.filter((l) => l.level === 40);
    // At 1 s, then 11 s and 21 s (every 10 s: a third of the 30 s bound).
    expect(warnings.map((w) => w.msg)).toEqual([
      'kudu sink "out": masters 10.0.0.1:7051 unavailable for 1 s writing 20 rows to "t": kudu: no leader master among 10.0.0.1:7051 (10.0.0.1:7051: connection to 10.0.0.1:7051 failed); retrying, fails after timeout 30s',
      expect.stringContaining('unavailable for 11 s writing'),
      expect.stringContaining('unavailable for 21 s writing'),
    ]);
    expect(h.reports).toHaveLength(3);
    expect(h.reports[0]).toEqual({
      dependency: 'kudu',
      component: 'sink "out"',
      target: 'masters 10.0.0.1:7051',
      since: '2026-11-26T12:00:00.000Z',
      error: 'kudu: no leader master among 10.0.0.1:7051 (10.0.0.1:7051: connection to 10.0.0.1:7051 failed)',
      bound: 'fails after timeout 30s',
    });
    expect(new Set(h.reports.map((r) => r?.since))).toEqual(new Set(['2026-11-26T12:00:00.000Z']));
    h.outage.ok();
    expect(h.reports.at(-1)).toBeUndefined();
    expect(h.lines.at(-1)?.msg).toBe('kudu sink "out": writes to table "t" succeed again after 25.0 s');
    // A second outage starts afresh: a write that timed out after 10 s started it when it was sent.
    h.outage.retry('writing 20 rows to "t"', hung, h.now() - 10_000);
    expect(h.reports.at(-1)?.since).toBe('2026-11-26T12:00:15.000Z');
  });

  it('warns every 30 s at most under a long bound', () => {
    const h = harness(600_000);
    for (let i = 0; i < 100; i++) {
      h.outage.retry('writing 1 rows to "t"', refused, h.now());
      h.advance(1000);
    }
    expect(h.lines.filter((l) => l.level === 40)).toHaveLength(4); // at 1, 31, 61, 91 s
  });

  it('a hung tablet server: warned at its first timeout, named as the target and in the final error', () => {
    const h = harness(4_000);
    h.outage.retry('writing 20 rows to "t"', hung, h.now() - 1_300);
    expect(h.reports[0]?.target).toBe('tablet server 10.0.0.7:7050 (masters 10.0.0.1:7051)');
    expect(h.lines[0]?.msg).toBe(
      'kudu sink "out": tablet server 10.0.0.7:7050 (masters 10.0.0.1:7051) unavailable for 1 s writing 20 rows to "t": ' +
        'kudu: Write to 10.0.0.7:7050 timed out after 10000 ms; retrying, fails after timeout 4s',
    );
    const last = kuduError(
      'TRIB_KUDU_TIMEOUT',
      `writing 20 rows to "t" did not complete in time; last error: ${String(hung)}`,
      hung,
    );
    const err = h.outage.failed('writing 20 rows', last);
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('TRIB_KUDU_TIMEOUT');
    expect((err as Error).message).toBe(
      'sink "out": writing 20 rows failed: tablet server 10.0.0.7:7050 (masters 10.0.0.1:7051) unavailable ' +
        '(timeout 4s, table "t"): kudu: writing 20 rows to "t" did not complete in time; last error: ' +
        'TributaryError: kudu: Write to 10.0.0.7:7050 timed out after 10000 ms',
    );
  });

  it('an operation that was only slow (no attempt failed) is not called unavailable', () => {
    const h = harness(4_000);
    const slow = kuduError('TRIB_KUDU_TIMEOUT', 'scanning "t" did not complete in time');
    expect((h.outage.failed('scanning tablet ab', slow) as Error).message).toBe(
      'sink "out": scanning tablet ab failed: not done within timeout 4s (table "t", masters 10.0.0.1:7051): ' +
        'kudu: scanning "t" did not complete in time',
    );
  });

  it('passes errors that are not unavailability through as they are', () => {
    const h = harness(4_000);
    const rejected = kuduError('TRIB_KUDU_ROW_ERRORS', 'table "t": 1 of 1 rows rejected');
    expect(h.outage.failed('writing 1 rows', rejected)).toBe(rejected);
  });
});

/** A loopback address nothing listens on (it was free a moment ago): connecting is refused for real. */
async function refusingAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return `127.0.0.1:${port}`;
}

describe.each([
  {
    role: 'sink',
    open: async (masters: string, logger: pino.Logger, reportOutage: ReportOutage) => {
      const sink = new KuduSink('out', { masters, table: 't', timeout: '3s' });
      try {
        await sink.open({ sinkName: 'out', slot: 0, parallelism: 1, logger, wake: () => undefined, reportOutage });
      } finally {
        await sink.close('failed');
      }
    },
  },
  {
    role: 'source',
    open: async (masters: string, logger: pino.Logger, reportOutage: ReportOutage) => {
      const source = new KuduSource('out', { masters, table: 't', timeout: '3s' });
      try {
        await source.open({
          sourceName: 'out',
          slot: 0,
          parallelism: 1,
          logger,
          addPartition: () => 0,
          finishPartition: () => undefined,
          idlePartition: () => undefined,
          partitionCaughtUp: () => undefined,
          wake: () => undefined,
          wakeAt: () => undefined,
          recordFailed: () => undefined,
          reportOutage,
        });
      } finally {
        await source.close();
      }
    },
  },
])('a kudu $role with its masters refusing connections', ({ role, open }) => {
  it('opening warns, reports the outage and fails within timeout naming it and the masters', async () => {
    const masters = await refusingAddress();
    const lines: LogLine[] = [];
    const reports: (DependencyOutage | undefined)[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as LogLine) });
    const t0 = Date.now();
    const opened = open(masters, logger, (o) => reports.push(o));
    await expect(opened).rejects.toThrow(
      new RegExp(
        `^${role} "out": opening table "t" failed: masters ${masters} unavailable \\(timeout 3s, table "t"\\): ` +
          `kudu: no leader master among ${masters} \\(.*connection to ${masters} failed\\)`,
      ),
    );
    expect(await opened.catch((e: unknown) => (e as TributaryError).code)).toBe('TRIB_KUDU_CONNECT');
    // Retried until the next backoff (1 s at most) would pass the bound, and not longer.
    const took = Date.now() - t0;
    expect(took, 'retried until the bound').toBeGreaterThanOrEqual(2_000);
    expect(took, 'gave up at the bound').toBeLessThan(4_000);
    const warnings = lines.filter((l) => l.level === 40);
    // Retried every ≤ 1 s for 3 s: warned at about 1 s and 2 s, not once per retry.
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(3);
    expect(warnings[0]!.msg).toMatch(
      new RegExp(
        `^kudu ${role} "out": masters ${masters} unavailable for 1 s opening table "t": .*fails after timeout 3s$`,
      ),
    );
    expect(reports.length).toBe(warnings.length);
    expect(reports[0]).toMatchObject({ dependency: 'kudu', component: `${role} "out"`, target: `masters ${masters}` });
  }, 20_000);
});
