// The druid connectors against a stand-in Druid SQL endpoint on loopback, only for what the real
// Druid cannot produce on demand: a failed lookup refresh followed by a good one (the real
// failure, a row the query cannot parse, cannot be taken back: the datasource is append-only),
// and answers a proxy in front of Druid gives (an HTML error page, a 200 that is not a list of
// rows), and a lookup table's retry classes in one process (a 503 retried, a 400 not, a 500 past
// the bound failing the table; the real router stopped: druid-lookup-faults.chaos.int.test.ts).
// Everything Druid itself answers — rows, slots, positions, quoting, bad SQL, a missing
// datasource, refreshes, a refresh that fails, enrichment — is tested against the real Druid in
// druid-source.int.test.ts and ../lookup-table.int.test.ts. Also here: graph validation of lookup
// tables and the druid sink's rows (no server).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.ts';
import { JobExecutor } from '../../job/job-executor.ts';
import { validateGraph, checkGraph } from '../validate-graph.ts';
import { CollectingSink } from '../../testing/harness.ts';
import { druidRow, druidKafkaSpec } from './druid-sink.ts';
import { LookupTable } from '../lookup-table.ts';
import { druidTableLoader, druidTableOutage } from './druid-lookup-loader.ts';

let server: Server;
let url = '';
const queries: string[] = [];
/** What the next queries return: rows, or [status, body]. */
let answer: (q: string) => unknown[] | [number, unknown] = () => [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const { query, resultFormat } = JSON.parse(body) as { query: string; resultFormat: string };
      queries.push(query);
      expect(req.url).toBe('/druid/v2/sql');
      expect(resultFormat).toBe('object');
      const a = answer(query);
      const [status, out] = a.length === 2 && typeof a[0] === 'number' ? (a as [number, unknown]) : [200, a];
      // A string is sent as it is (a proxy's page), anything else as JSON.
      res.writeHead(status, { 'content-type': typeof out === 'string' ? 'text/html' : 'application/json' });
      res.end(typeof out === 'string' ? out : JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const logger = pino({ level: 'silent' });

describe('druid SQL answers only a proxy or a broken server gives', () => {
  it('an HTML error page: its text in the message; a 200 that is not a list of rows: refused', async () => {
    const g = validateGraph({
      sources: [{ name: 'countries', druid: { url, query: 'SELECT 1' } }],
      sinks: [{ name: 'out', from: 'countries', console: {} }],
    });
    const run = () =>
      new JobExecutor(g, { parallelism: 1, sinkWriter: () => new CollectingSink() }).run().catch((e: unknown) => e);
    answer = () => [502, '<html><body>502 Bad Gateway</body></html>'];
    const page = await run();
    expect(isTributaryError(page, 'TRIB_CONNECTOR_FAILED')).toBe(true);
    expect((page as Error).message).toBe(
      'source "countries": Druid SQL failed (HTTP 502): <html><body>502 Bad Gateway</body></html>',
    );
    answer = () => [200, { rows: [] }];
    const notRows = await run();
    expect(isTributaryError(notRows, 'TRIB_CONNECTOR_FAILED')).toBe(true);
    expect((notRows as Error).message).toBe('source "countries": Druid SQL returned object, expected a list of rows');
  });
});

describe('lookup step (druid source as a table)', () => {
  const graph = (onMissing?: 'keep' | 'drop') => ({
    sources: [
      {
        name: 'clicks',
        collection: {
          records: [
            { id: 1, cc: 'de' },
            { id: 2, cc: 'fr' },
            { id: 3, cc: 'xx' },
          ],
        },
      },
      { name: 'countries', druid: { url, query: 'SELECT code, name, region FROM countries', refresh: '1m' } },
    ],
    steps: [
      {
        name: 'named',
        from: 'clicks',
        lookup: { table: 'countries', key: 'cc', column: 'code', ...(onMissing ? { onMissing } : {}) },
      },
    ],
    sinks: [{ name: 'out', from: 'named', console: {} }],
  });

  it('a failed refresh keeps the last good table and counts the failure; the next refresh replaces it', async () => {
    const results: string[] = [];
    const t = new LookupTable({
      name: 'countries',
      load: druidTableLoader('countries', { url, query: 'SELECT 1' }),
      refresh: '1h',
      columns: ['code'],
      logger,
      onRefresh: (r) => results.push(r),
    });
    answer = () => [{ code: 'de', name: 'Germany' }];
    await t.open();
    answer = () => [500, { errorMessage: 'Broker down' }];
    await t.refresh();
    expect(t.failures).toBe(1);
    expect(t.get('de')).toEqual({ code: 'de', name: 'Germany' });
    answer = () => [
      { code: 'de', name: 'Deutschland' },
      { code: 1, name: 'numeric key' },
    ];
    await t.refresh();
    expect(t.get('de')?.['name']).toBe('Deutschland');
    expect(t.get('1')?.['name']).toBe('numeric key');
    expect(results).toEqual(['ok', 'failed', 'ok']);
    t.close();
  });

  it('with druidTableOutage: 5xx retried (first load and refreshes) up to unavailableTimeout, 4xx not', async () => {
    const reports: unknown[] = [];
    const table = (timeout: string) =>
      new LookupTable({
        name: 'countries',
        load: druidTableLoader('countries', { url, query: 'SELECT 1' }),
        refresh: '1h',
        columns: ['code'],
        logger,
        outage: druidTableOutage({ url, query: 'SELECT 1', unavailableTimeout: timeout }, (r) => reports.push(r)),
      });
    // A first load: 503 twice (retried after 0.5 s and 1 s), then rows.
    let calls = 0;
    answer = () =>
      ++calls <= 2 ? [503, { error: 'Unable to determine destination' }] : [{ code: 'de', name: 'Germany' }];
    const t = table('10s');
    await t.open();
    expect(calls).toBe(3);
    expect(t.get('de')?.['name']).toBe('Germany');
    expect(reports.map((r) => (r as { component?: string } | undefined)?.component)).toEqual([
      'lookup "countries"',
      'lookup "countries"',
      undefined,
    ]);
    t.close();
    // A query Druid refuses is not retried: the job fails at once with Druid's message.
    calls = 0;
    answer = () => (++calls, [400, { errorMessage: "Column 'x' not found" }]);
    const refused = await table('10s')
      .open()
      .catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(isTributaryError(refused, 'TRIB_CONNECTOR_FAILED')).toBe(true);
    // Refreshes failing with 500 past the bound: the table keeps serving, then fails the lookup.
    answer = () => [{ code: 'de', name: 'Germany' }];
    const r = table('1s');
    await r.open();
    answer = () => [500, { error: 'broker down' }];
    await r.refresh();
    expect(r.get('de')?.['name']).toBe('Germany');
    expect(() => r.throwIfFailed()).not.toThrow();
    await new Promise((res) => setTimeout(res, 1100));
    await r.refresh();
    expect(() => r.throwIfFailed()).toThrow(
      /^lookup table "countries": Druid at .* unavailable for 1\.\d s \(unavailableTimeout 1s/,
    );
    r.close();
  });

  it('validation: the table must be a druid source and is not a stream', () => {
    const msgs = (g: unknown) =>
      checkGraph(g)
        .issues.map((i) => `${i.path}: ${i.message}`)
        .sort();
    const g = graph();
    expect(
      msgs({
        ...g,
        steps: [{ name: 'named', from: 'clicks', lookup: { table: 'clicks', key: 'cc', column: 'code' } }],
      }),
    ).toEqual(
      [
        'graph.steps[0].lookup.table: expected the name of a druid or kudu source (the lookup table), got "clicks"; such sources: countries',
        'graph.sources[1]: source "countries" is not read by any step or sink',
      ].sort(),
    );
    expect(msgs({ ...g, sinks: [...g.sinks, { name: 'raw', from: 'countries', console: {} }] })).toEqual([
      'graph.sources[1]: source "countries" is a lookup table (of a lookup step) and cannot also be read as a stream by "raw"',
    ]);
    expect(
      msgs({ ...g, sources: [g.sources[0], { name: 'countries', druid: { url, query: 'x', refresh: 'soon' } }] }),
    ).toEqual(['graph.sources[1].druid.refresh: expected a duration like "1m", got "soon"']);
  });
});

describe('druid sink rows', () => {
  it('adds the datasource timestamp column: window_start, else the record time; keeps an existing one', () => {
    expect(
      druidRow({ country: 'de', window_start: 60_000, window_end: 120_000, clicks: 3 }, 119_999, 'ts', 'millis'),
    ).toEqual({ country: 'de', window_start: 60_000, window_end: 120_000, clicks: 3, ts: 60_000 });
    expect(druidRow({ a: 1 }, 1_700_000_000_000, 'ts', 'iso')).toEqual({ a: 1, ts: '2023-11-14T22:13:20.000Z' });
    expect(druidRow({ a: 1 }, 1_700_000_000_000, 'ts', 'posix')).toEqual({ a: 1, ts: 1_700_000_000 });
    expect(druidRow({ a: 1, ts: 5 }, 9, 'ts', 'millis')).toEqual({ a: 1, ts: 5 });
  });

  it('an unresolved datasourceRef names what to do', () => {
    expect(() => druidKafkaSpec('out', { datasourceRef: 'cpc' })).toThrow(
      /druid.datasourceRef "cpc" is not resolved .* write druid: \{datasourceRef, kafka: \{brokers, topic\}\}/,
    );
    expect(druidKafkaSpec('out', { datasourceRef: 'cpc', kafka: { brokers: 'k:1', topic: 't' } })).toEqual({
      brokers: 'k:1',
      topic: 't',
      format: 'json',
    });
  });
});
