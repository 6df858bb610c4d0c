// The runtime's Druid row of the fault matrix (docs/fault-matrix.md, "Druid"): a job's druid
// lookup table while the cluster's real Druid router is stopped, through `tributary run` as a
// user runs it (slots on threads). Three runs share one outage: one started before it with a
// long `unavailableTimeout` rides it out (keeps the last table, warns once, reports the outage in
// /metrics, and after the router is back its next refresh carries a row ingested meanwhile, which
// the records it enriches then show); one started before it with a short bound fails with
// TRIB_LOOKUP_UNAVAILABLE naming the table and the URL; one started during it waits for its first
// load for its bound and then fails the same way. Then the broker stopped behind a running
// router (the router answers 502): ridden out and recovered the same way, with a row ingested
// meanwhile in the records after it. Measured detect/recover times go to stderr for the matrix.
// The router is always started again; only the cluster of the env is touched.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDruidService, stopDruidService } from '../../../../test/cluster/components/druid.ts';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { DruidDataset, testDruidUrl } from '../../testing/druid-dataset.ts';
import { testBrokers } from '../../testing/kafka-topics.ts';
import {
  esc,
  failures,
  logged,
  matrixReport,
  outageSeries,
  sleep,
  stderrOf,
  tributaryRun,
  until,
  type Run,
} from '../../testing/tributary-run.ts';

const report = matrixReport('druid');

/** The slot's /metrics series of the table's outage (`1` or `0`), or undefined before it exists. */
const tableOutage = (r: Run): Promise<string | undefined> =>
  outageSeries(r, (l) => l.includes('component="lookup \\"countries\\""'));

describe('Druid router down under a job’s druid lookup table (tributary run, real Druid)', () => {
  const run = randomUUID().slice(0, 8);
  const datasource = `it-druid-lfaults-${run}`;
  const url = testDruidUrl();
  const paths = clusterPaths();
  const dir = mkdtempSync(join(tmpdir(), 'trib-dlfaults-'));
  const base = Date.now() - 60_000;
  const query = `SELECT code, LATEST_BY(name, __time) AS name FROM "${datasource}" GROUP BY code`;
  let dataset: DruidDataset;
  let routerDown = false;
  let brokerDown = false;
  const runs: Run[] = [];

  beforeAll(async () => {
    dataset = await DruidDataset.create({ name: datasource, timestampColumn: 'ts', dimensions: ['code', 'name'] }, [
      { ts: base, code: 'de', name: 'Germany' },
      { ts: base + 1, code: 'fr', name: 'France' },
    ]);
  }, 120_000);

  afterAll(async () => {
    for (const r of runs) r.kill();
    if (routerDown) await startDruidService(paths, 'router');
    if (brokerDown) await startDruidService(paths, 'broker');
    await dataset?.drop();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  const graph = (name: string, unavailableTimeout: string): GraphSpec => ({
    sources: [
      {
        name: 'clicks',
        datagen: {
          generator: 'schema',
          rate: 20,
          fields: { seq: { type: 'sequence' }, cc: { type: 'string', values: ['de', 'fr'] } },
        },
      },
      { name: 'countries', druid: { url, query, refresh: '1s', unavailableTimeout } },
    ],
    steps: [
      { name: 'named', from: 'clicks', lookup: { table: 'countries', key: 'cc', column: 'code', fields: ['name'] } },
    ],
    sinks: [{ name: 'out', from: 'named', file: { path: join(dir, `${name}-{slot}.jsonl`) } }],
  });

  function start(name: string, unavailableTimeout: string): Run {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(graph(name, unavailableTimeout)));
    const r = tributaryRun([
      file,
      '--threads',
      '--parallelism',
      '1',
      '--max-restarts',
      '0',
      '--state-dir',
      join(dir, `state-${name}`),
      '--no-progress',
    ]);
    runs.push(r);
    return r;
  }

  const output = (name: string): { seq: number; cc: string; name?: string }[] => {
    const f = join(dir, `${name}-0.jsonl`);
    if (!existsSync(f)) return [];
    return readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { seq: number; cc: string; name?: string });
  };

  /** A new name for `de` produced to the datasource's topic: Druid's indexer ingests it (no router, no broker). */
  async function ingest(name: string): Promise<void> {
    const kafka = new Kafka({ clientId: 'it-druid-lfaults', brokers: testBrokers(), logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: datasource,
      messages: [{ value: JSON.stringify({ ts: Date.now(), code: 'de', name }) }],
    });
    await producer.disconnect();
  }

  it('rides out a short outage on the last table, fails past its bound, at start waits then fails; recovers', async () => {
    const failMessage = (bound: string): RegExp =>
      new RegExp(
        `^error TRIB_LOOKUP_UNAVAILABLE: lookup table "countries": Druid at ${esc(url)} unavailable for \\d+\\.\\d s ` +
          `\\(unavailableTimeout ${bound}, \\d+ attempts\\): Druid at ${esc(url)} is unreachable: .*ECONNREFUSED`,
      );
    const ride = start('ride', '60s');
    const bounded = start('bounded', '3s');
    for (const r of [ride, bounded])
      await until(r, 'the table loaded', 60_000, () => logged(r, /^lookup table loaded$/)[0]);
    await until(ride, 'records enriched from the first table', 20_000, () =>
      output('ride').some((x) => x.name === 'Germany') ? true : undefined,
    );

    // The outage: the router stopped; a row for `de` ingested meanwhile (Kafka → Druid's indexer, not the router).
    const stopAt = Date.now();
    routerDown = true;
    await stopDruidService(paths, 'router');
    const stoppedAt = Date.now();
    await ingest('Deutschland');

    const atStart = start('at-start', '4s');
    const startedAt = Date.now();

    const warned = await until(
      ride,
      'the outage warning',
      30_000,
      () => logged(ride, /Druid at .* unavailable; keeping the last table/)[0],
    );
    expect(warned.json?.msg).toMatch(
      new RegExp(
        `^lookup table "countries": Druid at ${esc(url)} unavailable; keeping the last table, retrying with backoff ` +
          `\\(next in \\d+ ms, at most every 5000 ms; logged again at most every 30 s\\); fails after unavailableTimeout 60s: ` +
          `Druid at ${esc(url)} is unreachable: .*ECONNREFUSED`,
      ),
    );
    const series = await until(ride, 'the outage in /metrics', 10_000, async () => {
      const s = await tableOutage(ride);
      return s?.endsWith(' 1') ? s : undefined;
    });
    expect(series).toBe('tributary_dependency_unavailable{dependency="druid",component="lookup \\"countries\\""} 1');
    report(
      'router down',
      `ride: warned ${warned.at - stoppedAt} ms after the router stopped (stop took ${stoppedAt - stopAt} ms)`,
    );

    // Past the bound: the running job with 3s fails, naming the table and the URL.
    expect(await bounded.exited.then((e) => e.code)).toBe(1);
    const boundedFail = failures(bounded).find((l) => failMessage('3s').test(l.text));
    expect(boundedFail?.text, stderrOf(bounded)).toBeDefined();
    expect(logged(bounded, /unavailable; keeping the last table/).length).toBe(1);
    report(
      'router down past the bound',
      `failed ${boundedFail!.at - stoppedAt} ms after the router stopped: ${boundedFail!.text}`,
    );

    // At start: waits for the first load for its bound, then fails the same way.
    expect(await atStart.exited.then((e) => e.code)).toBe(1);
    const startFail = failures(atStart).find((l) => failMessage('4s').test(l.text));
    expect(startFail?.text, stderrOf(atStart)).toBeDefined();
    expect(logged(atStart, /unavailable; the job waits for its first load/).length).toBe(1);
    expect(logged(atStart, /^lookup table loaded$/)).toEqual([]);
    report('router down at start', `failed ${startFail!.at - startedAt} ms after the run started: ${startFail!.text}`);

    // The riding job kept enriching from its last table meanwhile, and is still running.
    const during = output('ride').length;
    expect(ride.lines.some((l) => l.text.startsWith('error TRIB_'))).toBe(false);

    const restartAt = Date.now();
    await startDruidService(paths, 'router');
    routerDown = false;
    const servesAt = Date.now();
    const back = await until(ride, 'the recovery line', 30_000, () => logged(ride, /answers again after/)[0]);
    expect(back.json?.msg).toMatch(
      new RegExp(
        `^lookup table "countries": Druid at ${esc(url)} answers again after \\d+\\.\\d s and \\d+ failed attempts$`,
      ),
    );
    await until(ride, 'the outage cleared in /metrics', 10_000, async () =>
      (await tableOutage(ride))?.endsWith(' 0') ? true : undefined,
    );
    // Only one warning for the whole outage (under 30 s), not one per retry.
    expect(logged(ride, /unavailable; keeping the last table/).length).toBe(1);
    const refreshed = await until(ride, 'records enriched with the row ingested during the outage', 30_000, () =>
      output('ride').find((x) => x.name === 'Deutschland'),
    );
    const refreshedAt = Date.now();
    report(
      'router down',
      `ride: recovered ${back.at - servesAt} ms after the router served (restart took ${servesAt - restartAt} ms); ` +
        `records carry the new row ${refreshedAt - servesAt} ms after`,
    );
    await sleep(1500);
    ride.kill();
    await ride.exited;

    // Data: every record enriched (never left without its name); `de` reads Germany up to the first
    // Deutschland, then only Deutschland; records written during the outage came from the last table.
    const out = output('ride');
    expect(out.length).toBeGreaterThan(during);
    expect(out.filter((x) => x.name === undefined)).toEqual([]);
    const de = out.filter((x) => x.cc === 'de').sort((a, b) => a.seq - b.seq);
    const first = de.findIndex((x) => x.name === 'Deutschland');
    expect(first).toBeGreaterThan(0);
    expect(de.slice(0, first).every((x) => x.name === 'Germany')).toBe(true);
    expect(de.slice(first).every((x) => x.name === 'Deutschland')).toBe(true);
    expect(out.filter((x) => x.cc === 'fr').every((x) => x.name === 'France')).toBe(true);
    expect(refreshed.seq).toBe(de[first]!.seq);
  }, 150_000);

  it('broker down behind a running router: the router’s 5xx ridden out the same way, recovered', async () => {
    const ride = start('broker', '60s');
    await until(ride, 'records enriched from the first table', 60_000, () =>
      output('broker').some((x) => x.cc === 'de' && x.name !== undefined) ? true : undefined,
    );
    brokerDown = true;
    await stopDruidService(paths, 'broker');
    const stoppedAt = Date.now();
    await ingest('Allemagne');
    const warned = await until(
      ride,
      'the outage warning',
      30_000,
      () => logged(ride, /Druid at .* unavailable; keeping the last table/)[0],
    );
    expect(warned.json?.msg).toMatch(
      new RegExp(
        `^lookup table "countries": Druid at ${esc(url)} unavailable; keeping the last table, .*; ` +
          `fails after unavailableTimeout 60s: Druid SQL failed \\(HTTP 5\\d\\d\\): `,
      ),
    );
    await until(ride, 'the outage in /metrics', 10_000, async () =>
      (await tableOutage(ride))?.endsWith(' 1') ? true : undefined,
    );
    report('broker down', `warned ${warned.at - stoppedAt} ms after the broker stopped: ${String(warned.json?.msg)}`);
    const restartAt = Date.now();
    await startDruidService(paths, 'broker');
    brokerDown = false;
    const servesAt = Date.now();
    const back = await until(ride, 'the recovery line', 60_000, () => logged(ride, /answers again after/)[0]);
    await until(ride, 'records enriched with the row ingested during the outage', 30_000, () =>
      output('broker').find((x) => x.name === 'Allemagne'),
    );
    report(
      'broker down',
      `recovered ${back.at - servesAt} ms after startDruidService returned (restart took ${servesAt - restartAt} ms); ` +
        `${logged(ride, /unavailable; keeping the last table/).length} warning(s)`,
    );
    expect(logged(ride, /unavailable; keeping the last table/).length).toBeLessThanOrEqual(2);
    await until(ride, 'the outage cleared in /metrics', 10_000, async () =>
      (await tableOutage(ride))?.endsWith(' 0') ? true : undefined,
    );
    ride.kill();
    await ride.exited;
    const de = output('broker')
      .filter((x) => x.cc === 'de')
      .sort((a, b) => a.seq - b.seq);
    const first = de.findIndex((x) => x.name === 'Allemagne');
    expect(first).toBeGreaterThan(0);
    expect(de.slice(first).every((x) => x.name === 'Allemagne')).toBe(true);
    expect(de.every((x) => x.name !== undefined)).toBe(true);
  }, 150_000);
});
