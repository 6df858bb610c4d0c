// The druid connectors against a stand-in Druid SQL endpoint on loopback (the real Druid
// runs in operator/src/controllers/streamjob/druid.e2e.int.test.ts and bench/druid-latency.ts).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTributaryError } from '../../errors.ts';
import { JobExecutor } from '../../exec/job-executor.ts';
import { validateGraph, checkGraph } from '../validate-graph.ts';
import { CollectingSink, sortedJson, type Emitted } from '../../testing/harness.ts';
import { druidRow, druidKafkaSpec } from './druid-sink.ts';
import { LookupTable } from './lookup-table.ts';

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
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const logger = pino({ level: 'silent' });

describe('druid source (bounded SQL)', () => {
  it('emits every row of the query once, at any parallelism, then ends', async () => {
    const rows = Array.from({ length: 25 }, (_, i) => ({ country: `c${i}`, clicks: i }));
    answer = () => rows;
    const got: Emitted[] = [];
    const g = validateGraph({
      sources: [{ name: 'd', druid: { url, query: 'SELECT country, clicks FROM t' } }],
      sinks: [{ name: 'out', from: 'd', console: {} }],
    });
    const res = await new JobExecutor(g, { parallelism: 3, sinkWriter: () => new CollectingSink(got) }).run();
    expect(res.state).toBe('FINISHED');
    expect(sortedJson(got.map((e) => e.rec))).toEqual(sortedJson(rows));
  });

  it("bad SQL: the job fails with the source name and Druid's message", async () => {
    answer = () => [
      400,
      { error: 'druidException', errorCode: 'invalidInput', errorMessage: "Column 'nope' not found in any table" },
    ];
    const g = validateGraph({
      sources: [{ name: 'countries', druid: { url, query: 'SELECT nope FROM t' } }],
      sinks: [{ name: 'out', from: 'countries', console: {} }],
    });
    const err = await new JobExecutor(g, { parallelism: 1, sinkWriter: () => new CollectingSink() })
      .run()
      .catch((e: unknown) => e);
    expect(isTributaryError(err, 'TRIB_CONNECTOR_FAILED')).toBe(true);
    expect((err as Error).message).toBe(
      `source "countries": Druid SQL failed (HTTP 400): Column 'nope' not found in any table`,
    );
  });

  it('Druid down: a clear error naming the source and the address', async () => {
    const g = validateGraph({
      sources: [{ name: 'countries', druid: { url: 'http://127.0.0.1:1', query: 'SELECT 1' } }],
      sinks: [{ name: 'out', from: 'countries', console: {} }],
    });
    const err = await new JobExecutor(g, { parallelism: 1, sinkWriter: () => new CollectingSink() })
      .run()
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^source "countries": Druid at http:\/\/127\.0\.0\.1:1 is unreachable: /);
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

  it('merges the matching row (without the key column); unmatched records pass, or are dropped', async () => {
    answer = () => [
      { code: 'de', name: 'Germany', region: 'eu' },
      { code: 'fr', name: 'France', region: 'eu' },
    ];
    const got: Emitted[] = [];
    await new JobExecutor(validateGraph(graph()), { parallelism: 2, sinkWriter: () => new CollectingSink(got) }).run();
    expect(sortedJson(got.map((e) => e.rec))).toEqual(
      sortedJson([
        { id: 1, cc: 'de', name: 'Germany', region: 'eu' },
        { id: 2, cc: 'fr', name: 'France', region: 'eu' },
        { id: 3, cc: 'xx' },
      ]),
    );
    const dropped: Emitted[] = [];
    await new JobExecutor(validateGraph(graph('drop')), {
      parallelism: 1,
      sinkWriter: () => new CollectingSink(dropped),
    }).run();
    expect(dropped.map((e) => e.rec['id']).sort()).toEqual([1, 2]);
  });

  it("a first load that fails fails the job with the table name and Druid's message", async () => {
    answer = () => [500, { error: 'Unknown exception', errorMessage: 'Broker down' }];
    const err = await new JobExecutor(validateGraph(graph()), {
      parallelism: 1,
      sinkWriter: () => new CollectingSink(),
    })
      .run()
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe('lookup table "countries": Druid SQL failed (HTTP 500): Broker down');
  });

  it('a failed refresh keeps the last good table and counts the failure; the next refresh replaces it', async () => {
    const results: string[] = [];
    const t = new LookupTable({
      name: 'countries',
      spec: { url, query: 'SELECT 1', refresh: '1h' },
      column: 'code',
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
