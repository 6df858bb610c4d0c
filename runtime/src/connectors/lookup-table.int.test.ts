// Lookup tables from the local cluster's real Druid (TRIBUTARY_DRUID_URL): a countries dataset
// ingested once (Kafka topic + supervisor, runtime/src/testing/druid-dataset.ts; a country's
// current row is its latest by __time) enriches a job's records at parallelism 2 (keep and drop);
// a row appended to Druid is in the table after its own refresh timer (every `refresh`, no manual
// call) ran twice, and a running job's records are enriched with it after the job's table did;
// a first load against a datasource that does not exist, a bad column, or a URL where no Druid
// listens fails the job with TRIB_CONNECTOR_FAILED, the table's name and Druid's message.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { Counter } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTributaryError } from '../errors.ts';
import { createJobExecutor } from '../job/job-executor.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { silentLogger } from '../telemetry/logger.ts';
import { JobMetrics } from '../telemetry/metrics.ts';
import { DruidDataset, testDruidUrl } from '../testing/druid-dataset.ts';
import { CollectingSink, sortedJson, type Emitted } from '../testing/harness.ts';
import { createTopics, inputProducer, testBrokers } from '../testing/kafka-topics.ts';
import { validateGraph } from './validate-graph.ts';
import { druidTableLoader } from './druid/druid-lookup-loader.ts';
import { LookupTable } from './lookup-table.ts';

describe('lookup tables from the real Druid', () => {
  const run = randomUUID().slice(0, 8);
  const datasource = `it-druid-lookup-${run}`;
  const base = Date.now() - 60_000;
  const countries = [
    { ts: base, code: 'de', name: 'Germany', region: 'eu', meta: '{"capital":"Berlin"}' },
    { ts: base + 1, code: 'fr', name: 'France', region: 'eu', meta: '{"capital":"Paris"}' },
    { ts: base + 2, code: 'jp', name: 'Japan', region: 'apac', meta: '{"capital":"Tokyo"}' },
  ];
  // A country's current row: its latest by time (rows are appended, never updated in place).
  const query = `SELECT code, LATEST_BY(name, __time) AS name, LATEST_BY(region, __time) AS region FROM "${datasource}" GROUP BY code`;
  let dataset: DruidDataset;

  beforeAll(async () => {
    dataset = await DruidDataset.create(
      { name: datasource, timestampColumn: 'ts', dimensions: ['code', 'name', 'region', 'meta'] },
      countries,
    );
  }, 240_000);

  afterAll(() => dataset?.drop(), 60_000);

  const clicks = [
    { id: 1, cc: 'de' },
    { id: 2, cc: 'jp' },
    { id: 3, cc: 'xx' },
    { id: 4, cc: 'fr' },
  ];
  const graph = (
    table: { query: string; url?: string; unavailableTimeout?: string },
    onMissing?: 'keep' | 'drop',
  ): GraphSpec => ({
    sources: [
      { name: 'clicks', collection: { records: clicks } },
      {
        name: 'countries',
        druid: {
          url: table.url ?? testDruidUrl(),
          query: table.query,
          refresh: '1m',
          ...(table.unavailableTimeout ? { unavailableTimeout: table.unavailableTimeout } : {}),
        },
      },
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
  const collect = async (g: GraphSpec): Promise<Record<string, unknown>[]> => {
    const got: Emitted[] = [];
    const job = await createJobExecutor(validateGraph(g), {
      parallelism: 2,
      logger: silentLogger(),
      sinkWriter: () => new CollectingSink(got),
    });
    expect((await job.run()).state).toBe('FINISHED');
    return got.map((e) => e.rec as Record<string, unknown>);
  };

  it("enriches every slot's records with the row of their key; unmatched records pass, or are dropped", async () => {
    expect(sortedJson(await collect(graph({ query })))).toEqual(
      sortedJson([
        { id: 1, cc: 'de', name: 'Germany', region: 'eu' },
        { id: 2, cc: 'jp', name: 'Japan', region: 'apac' },
        { id: 3, cc: 'xx' },
        { id: 4, cc: 'fr', name: 'France', region: 'eu' },
      ]),
    );
    expect((await collect(graph({ query }, 'drop'))).map((r) => r['id']).sort()).toEqual([1, 2, 4]);
  });

  it('a first load that fails fails the job with the table name and Druid’s message', async () => {
    const run1 = async (g: GraphSpec): Promise<unknown> =>
      (
        await createJobExecutor(validateGraph(g), {
          parallelism: 1,
          logger: silentLogger(),
          sinkWriter: () => new CollectingSink(),
        })
      )
        .run()
        .catch((e: unknown) => e);
    const missing = await run1(graph({ query: `SELECT code, name FROM "gone_${run}"` }));
    expect(isTributaryError(missing, 'TRIB_CONNECTOR_FAILED')).toBe(true);
    expect((missing as Error).message).toBe(
      `lookup table "countries": Druid SQL failed (HTTP 400): Object 'gone_${run}' not found (line [1], column [24])`,
    );
    const badColumn = await run1(graph({ query: `SELECT code, capital FROM "${datasource}"` }));
    expect(isTributaryError(badColumn, 'TRIB_CONNECTOR_FAILED')).toBe(true);
    expect((badColumn as Error).message).toBe(
      `lookup table "countries": Druid SQL failed (HTTP 400): Column 'capital' not found in any table (line [1], column [14])`,
    );
    // Unreachable is retried (lookup-outage.ts) until the source's unavailableTimeout.
    const down = await run1(graph({ query, url: 'http://127.0.0.1:1', unavailableTimeout: '1s' }));
    expect(isTributaryError(down, 'TRIB_LOOKUP_UNAVAILABLE')).toBe(true);
    expect((down as Error).message).toMatch(
      /^lookup table "countries": Druid at http:\/\/127\.0\.0\.1:1 unavailable for 1\.\d s \(unavailableTimeout 1s, \d+ attempts\): Druid at http:\/\/127\.0\.0\.1:1 is unreachable: /,
    );
  });

  it('its refresh (every `refresh`, on its own timer) picks up a row appended to Druid: in the table, and in a running job', async () => {
    // Refresh results as events: of a table built here, and of the running job's table (its
    // tributary_lookup_refreshes_total counter, registered first so the job increments this one).
    const events = { table: [] as string[], job: [] as string[] };
    let onRefresh: () => void = () => undefined;
    const table = new LookupTable({
      name: 'countries',
      load: druidTableLoader('countries', { url: testDruidUrl(), query }),
      refresh: '1s',
      columns: ['code'],
      logger: silentLogger(),
      onRefresh: (r) => {
        events.table.push(r);
        onRefresh();
      },
    });
    const metrics = new JobMetrics();
    const counter = new Counter<'table' | 'result'>({
      name: 'tributary_lookup_refreshes_total',
      help: 'lookup refreshes, observed by the test',
      labelNames: ['table', 'result'],
      registers: [metrics.registry],
    });
    const inc = counter.inc.bind(counter) as (labels: Record<string, string>) => void;
    counter.inc = ((labels: Record<string, string>) => {
      inc(labels);
      events.job.push(labels['result'] ?? '?');
      onRefresh();
    }) as typeof counter.inc;
    /**
     * A promise settled by events; rejects naming what never came (and the refreshes seen) if it
     * has not after a minute, instead of the test's timeout (a deadline, not a timing assertion).
     */
    const bounded = <T>(what: string, wait: (resolve: (v: T) => void) => void): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no ${what}; refreshes: ${JSON.stringify(events)}`)), 60_000);
        wait((v) => {
          clearTimeout(t);
          resolve(v);
        });
      });
    /** Resolves once both tables completed `n` more successful refreshes than `from`. */
    const refreshed = (from: { table: number; job: number }, n: number): Promise<void> =>
      bounded(`${n} more refreshes of both tables`, (resolve) => {
        const ok = (l: string[]): number => l.filter((r) => r === 'ok').length;
        onRefresh = () => {
          if (ok(events.table) >= from.table + n && ok(events.job) >= from.job + n) resolve();
        };
        onRefresh();
      });
    const okCounts = () => ({
      table: events.table.filter((r) => r === 'ok').length,
      job: events.job.filter((r) => r === 'ok').length,
    });

    const topic = `it-druid-lookup-clicks-${run}`;
    const kafka = new Kafka({ clientId: 'it-druid-lookup', brokers: testBrokers(), logLevel: logLevel.NOTHING });
    await createTopics(kafka, { [topic]: 1 });
    const producer = inputProducer(kafka);
    await producer.connect();
    const got: Emitted[] = [];
    let onOutput: () => void = () => undefined;
    const job = await createJobExecutor(
      validateGraph({
        sources: [
          { name: 'clicks', kafka: { brokers: testBrokers().join(','), topic, groupId: topic, startFrom: 'earliest' } },
          { name: 'countries', druid: { url: testDruidUrl(), query, refresh: '1s' } },
        ],
        steps: [{ name: 'named', from: 'clicks', lookup: { table: 'countries', key: 'cc', column: 'code' } }],
        sinks: [{ name: 'out', from: 'named', console: {} }],
      }),
      {
        parallelism: 1,
        logger: silentLogger(),
        metrics,
        sinkWriter: () => {
          const sink = new CollectingSink(got);
          const write = sink.write.bind(sink);
          sink.write = (b) => {
            write(b);
            onOutput();
          };
          return sink;
        },
      },
    );
    const running = job.run();
    running.catch(() => undefined);
    /** The job's output for click `id`, once it is there. */
    const output = (id: number): Promise<Record<string, unknown>> =>
      bounded(`the job's output for click ${id}`, (resolve) => {
        onOutput = () => {
          const hit = got.find((e) => e.rec['id'] === id);
          if (hit) resolve(hit.rec as Record<string, unknown>);
        };
        onOutput();
      });
    const click = (id: number) =>
      producer.send({ topic, messages: [{ value: JSON.stringify({ id, cc: 'de' }) }] }).then(() => output(id));
    try {
      await table.open();
      expect(table.get('de')?.['name']).toBe('Germany');
      expect(await click(1)).toEqual({ id: 1, cc: 'de', name: 'Germany', region: 'eu' });

      // Resolves once SQL shows the new row: every query that starts later returns it.
      await dataset.append([{ ts: base + 10, code: 'de', name: 'Deutschland', region: 'eu', meta: null }]);
      // The second refresh to complete from here started after the append (a table's
      // refreshes never overlap), so it loaded the new row.
      await refreshed(okCounts(), 2);
      expect(table.get('de')).toEqual({ code: 'de', name: 'Deutschland', region: 'eu' });
      expect(table.get('fr')).toEqual({ code: 'fr', name: 'France', region: 'eu' });
      expect(await click(2)).toEqual({ id: 2, cc: 'de', name: 'Deutschland', region: 'eu' });
      expect([...events.table, ...events.job].every((r) => r === 'ok')).toBe(true);
    } finally {
      table.close();
      job.stop();
      await running.catch(() => undefined);
      await producer.disconnect();
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('a refresh Druid fails (a row its query cannot parse appended) keeps the last table, logged and counted', async () => {
    // PARSE_JSON fails the whole query on a row that is not JSON: a failure of the real Druid
    // that data alone causes (no process stopped).
    const warnings: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => void warnings.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const results: string[] = [];
    let onRefresh: () => void = () => undefined;
    const table = new LookupTable({
      name: 'capitals',
      load: druidTableLoader('capitals', {
        url: testDruidUrl(),
        query: `SELECT code, JSON_VALUE(PARSE_JSON(meta), '$.capital') AS capital FROM "${datasource}" WHERE meta IS NOT NULL`,
      }),
      refresh: '1s',
      columns: ['code'],
      logger,
      onRefresh: (r) => {
        results.push(r);
        onRefresh();
      },
    });
    try {
      await table.open();
      expect(table.get('de')).toEqual({ code: 'de', capital: 'Berlin' });
      await dataset.append([{ ts: base + 20, code: 'zz', name: 'Nowhere', region: 'none', meta: '{not json' }]);
      await new Promise<void>((resolve, reject) => {
        // A deadline naming what never came, not a timing assertion.
        const t = setTimeout(() => reject(new Error(`no failed refresh; results: ${results.join()}`)), 60_000);
        onRefresh = () => {
          if (results.includes('failed')) {
            clearTimeout(t);
            resolve();
          }
        };
      });
      expect(table.get('de')).toEqual({ code: 'de', capital: 'Berlin' });
      expect(table.get('zz')).toBeUndefined();
      expect(table.failures).toBeGreaterThanOrEqual(1);
      expect(warnings[0]).toMatchObject({
        table: 'capitals',
        msg: 'lookup table refresh failed; keeping the last table',
      });
      expect(String(warnings[0]?.['err'])).toMatch(
        /^lookup table "capitals": Druid SQL failed \(HTTP 500\): .*parse_json.*\{not json/,
      );
    } finally {
      table.close();
    }
  });
});
