// Kudu lookups whose masters refuse connections for real (a loopback port no one listens on).
// A lookup table (mode copy): its first load warns at once naming the masters, reports the outage
// (dependency kudu, component `lookup "<table>"`) and, past the source's `timeout`, fails with
// TRIB_LOOKUP_UNAVAILABLE naming the table and the masters, instead of one silent load error.
// A point lookup (mode get): opening (and a fetch) warns and reports the same way while it retries
// and fails within `timeout` naming the lookup, the table and the masters.
import { createServer } from 'node:net';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { DependencyOutage } from '../../core/outage.ts';
import { TributaryError } from '../../errors.ts';
import { LookupTable } from '../lookup-table.ts';
import { kuduTableLoader, kuduTableOutage } from './kudu-lookup-loader.ts';
import { KuduPointLookup } from './kudu-point-lookup.ts';

interface LogLine {
  level: number;
  msg: string;
}

async function refusingAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return `127.0.0.1:${port}`;
}

describe('a kudu lookup table whose masters refuse connections', () => {
  it('warns, reports the outage and fails with TRIB_LOOKUP_UNAVAILABLE past timeout', async () => {
    const masters = await refusingAddress();
    const lines: LogLine[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as LogLine) });
    const reports: (DependencyOutage | undefined)[] = [];
    const spec = { masters, table: 'countries', mode: 'copy' as const, timeout: '3s' };
    const table = new LookupTable({
      name: 'countries',
      load: kuduTableLoader('countries', spec),
      columns: ['code'],
      logger,
      outage: kuduTableOutage(spec, (o) => reports.push(o)),
    });
    const started = Date.now();
    const err = await table.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    const tookMs = Date.now() - started;
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('TRIB_LOOKUP_UNAVAILABLE');
    expect((err as Error).message).toMatch(
      new RegExp(
        `^lookup table "countries": Kudu at masters ${masters} unavailable for [\\d.]+ s \\(timeout 3s, \\d+ attempts\\): `,
      ),
    );
    // Within the bound plus one load attempt (a third of it): not one attempt of the whole bound.
    expect(tookMs).toBeLessThan(3000 + 1000 + 2000);
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings.length).toBeGreaterThan(0);
    // Never once per retry: one warning for the first failure, then at most every 30 s.
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(
      new RegExp(`^lookup table "countries": Kudu at masters ${masters} unavailable; the job waits for its first load`),
    );
    expect(warnings[0]!.msg).toMatch(/fails after timeout 3s: /);
    expect(reports[0]).toMatchObject({
      dependency: 'kudu',
      component: 'lookup "countries"',
      target: `masters ${masters}`,
      bound: 'fails after timeout 3s',
    });
  }, 20_000);
});

describe('a kudu lookup in mode get whose masters refuse connections', () => {
  it('warns naming the lookup and masters, reports the outage and fails within timeout', async () => {
    const masters = await refusingAddress();
    const lines: LogLine[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as LogLine) });
    const reports: (DependencyOutage | undefined)[] = [];
    const lookup = new KuduPointLookup({
      name: 'items',
      spec: { masters, table: 'items', mode: 'get', timeout: '3s' },
      columns: ['id'],
      logger,
      reportOutage: (o) => reports.push(o),
    });
    const err = await lookup.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    lookup.close();
    expect((err as TributaryError).code).toBe('TRIB_KUDU_CONNECT');
    expect((err as Error).message).toMatch(
      new RegExp(
        `^lookup "items": opening table "items" failed: masters ${masters} unavailable \\(timeout 3s, table "items"\\): `,
      ),
    );
    const warnings = lines.filter((l) => l.level === 40);
    // Warned after a second of trouble, then at most every second (a third of the 3 s bound).
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.length).toBeLessThanOrEqual(3);
    expect(warnings[0]!.msg).toMatch(
      new RegExp(
        `^kudu lookup "items": masters ${masters} unavailable for \\d+ s opening table "items": .*; retrying, fails after timeout 3s$`,
      ),
    );
    expect(reports[0]).toMatchObject({
      dependency: 'kudu',
      component: 'lookup "items"',
      target: `masters ${masters}`,
      bound: 'fails after timeout 3s',
    });
  }, 20_000);
});
