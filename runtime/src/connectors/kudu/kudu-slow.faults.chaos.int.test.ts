// The Kudu row of the fault matrix for slow servers (docs/fault-matrix.md): a job copying a Kudu
// table into another through `tributary run` (the kudu source scanning one tablet, the kudu sink
// writing batches, both tables one replica), against tablet servers slowed for real:
// the servers holding the two tables are SIGSTOPped for part of every period
// (throttleKuduTservers), so every scan and write call waits for the next running phase.
//   1. Slower than normal but each call well within its bound (stopped 300 ms of every 500 ms,
//      the sink's `timeout` 4 s: a call may wait 1.3 s): the job keeps going — no warning, no
//      outage reported, no failure — and the copy is whole.
//   2. Slower than the bound (stopped 6 s of every 6.3 s, both `timeout`s 3 s): what a hung
//      server does — each call gives up after a third of the bound, the job warns and reports the
//      outage naming the server, fails with TRIB_KUDU_TIMEOUT within the bound, and once the servers
//      are fast again the restarted attempt finishes the copy.
// Data: `kudu table scan` (Kudu's own CLI) of the output shows every input row. The servers are
// always left running.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kuduCliLines } from '../../../../test/cluster/components/kudu.ts';
import { throttleKuduTservers } from '../../../../test/cluster/components/kudu-throttle.ts';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { testKuduMasters, testKuduTservers } from '../../testing/kudu-masters.ts';
import { ConnectionPool, parseHostPort } from './client/connection-pool.ts';
import { KuduClient } from './client/kudu-client.ts';
import { MasterClient } from './client/master-client.ts';
import { deadline } from './client/retry.ts';
import type { KuduTable } from './client/table-metadata.ts';
import { TabletLocations } from './client/tablet-locations.ts';
import {
  esc,
  failures,
  logged,
  sleep,
  stderrOf,
  tributaryRun,
  until,
  watchOutageMetric,
  matrixReport,
  type Run,
} from '../../testing/tributary-run.ts';

const report = matrixReport('kudu');
const ROWS = 2000;
/** Generated rows of the first cell: 3 s of writes at 100/s, across six stopped phases. */
const GEN = 300;
/**
 * How the job fails past the bound: with the Kudu error, or — when the write that gave up was a
 * checkpoint's flush, so the slot declined checkpoints — after `tolerableFailedCheckpoints` declines,
 * the last naming the same error.
 */
const failedAs =
  '^error (TRIB_KUDU_TIMEOUT: |TRIB_CHECKPOINT_FAILED: \\d+ consecutive checkpoints failed .* declined by slot 0: slot 0: )';
const columns = [
  { name: 'id', type: 'int64', key: true },
  { name: 'v', type: 'int64' },
  { name: 'pad', type: 'string' },
] as const;

describe('kudu sink and source against slow tablet servers (tributary run, real Kudu)', () => {
  const run = randomUUID().slice(0, 8);
  const paths = clusterPaths();
  const masters = testKuduMasters();
  const tservers = testKuduTservers();
  const dir = mkdtempSync(join(tmpdir(), 'trib-kuduslow-'));
  const kudu = new KuduClient({ masters: masters.split(','), operationTimeoutMs: 30_000 });
  const tables: string[] = [];
  let throttle: { stop(): void; readonly cycles: number } | undefined;

  afterAll(async () => {
    throttle?.stop();
    for (const t of tables) await kudu.deleteTable(t).catch(() => undefined);
    await kudu.close();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  /** The index (in `tservers`) of the server holding a one-replica, one-tablet table. */
  async function holderOf(table: KuduTable): Promise<number> {
    const pool = new ConnectionPool({ user: 'tributary-test', connectTimeoutMs: 5_000 });
    try {
      const master = new MasterClient(
        masters.split(',').map((a) => parseHostPort(a, 7051)),
        pool,
      );
      const [tablet] = await new TabletLocations(master).all(table.name, table.id, deadline(30_000, 'locating'));
      const i = tablet?.leader ? tservers.indexOf(`${tablet.leader.host}:${tablet.leader.port}`) : -1;
      expect(i, `table "${table.name}" is on one of the tablet servers`).toBeGreaterThanOrEqual(0);
      return i;
    } finally {
      await pool.closeAll();
    }
  }

  /** An input of ROWS rows (about 2 MB: a scan of a few calls) and an empty output, one replica each. */
  async function tablesFor(tag: string): Promise<{ input: string; output: string; holders: number[] }> {
    const [input, output] = [`it_kudu_slow_${tag}_in_${run}`, `it_kudu_slow_${tag}_out_${run}`];
    tables.push(input, output);
    const spec = { columns: [...columns], hashPartitions: [], rangeColumns: ['id'], replicas: 1 };
    const inTable = await kudu.createTable({ name: input, ...spec });
    const outTable = await kudu.createTable({ name: output, ...spec });
    const pad = 'x'.repeat(1000);
    for (let start = 0; start < ROWS; start += 500)
      await kudu.upsert(
        inTable,
        Array.from({ length: 500 }, (_, j) => ({ id: BigInt(start + j), v: BigInt(start + j), pad })),
      );
    const holders = [...new Set([await holderOf(inTable), await holderOf(outTable)])];
    return { input, output, holders };
  }

  /** The copy `in` → `out`; with `gen`, also ids 0..GEN-1 (v = id) generated at 100/s into it (sink `gout`). */
  /** An empty one-replica table for generated rows (id, v), and the server holding it. */
  async function genTableFor(tag: string): Promise<{ name: string; holder: number }> {
    const name = `it_kudu_slow_${tag}_gen_${run}`;
    tables.push(name);
    const table = await kudu.createTable({
      name,
      columns: [columns[0], columns[1]],
      hashPartitions: [],
      rangeColumns: ['id'],
      replicas: 1,
    });
    return { name, holder: await holderOf(table) };
  }

  function start(
    tag: string,
    copy: { input: string; output: string; sourceTimeout: string } | undefined,
    sinkTimeout: string,
    batchSize: number,
    gen?: string,
  ): Run {
    const graph: GraphSpec = { sources: [], sinks: [] };
    if (copy) {
      graph.sources.push({ name: 'in', kudu: { masters, table: copy.input, timeout: copy.sourceTimeout } });
      graph.sinks.push({
        name: 'out',
        from: 'in',
        kudu: { masters, table: copy.output, batchSize, timeout: sinkTimeout },
      });
    }
    if (gen) {
      const fields = { id: { type: 'sequence' }, v: { type: 'sequence' } } as const;
      graph.sources.push({ name: 'gen', datagen: { generator: 'schema', count: GEN, rate: 100, fields } });
      graph.sinks.push({ name: 'gout', from: 'gen', kudu: { masters, table: gen, batchSize, timeout: sinkTimeout } });
    }
    const file = join(dir, `${tag}.json`);
    writeFileSync(file, JSON.stringify(graph));
    return tributaryRun([
      file,
      '--threads',
      '--parallelism',
      '1',
      '--max-restarts',
      '30',
      '--checkpoint-interval',
      '300ms',
      '--state-dir',
      join(dir, `state-${tag}`),
      '--no-progress',
    ]);
  }

  /** Ids 0..rows-1 each once in `output` with v = id, as Kudu's own CLI scans it. */
  async function checkOutput(output: string, rows = ROWS): Promise<string> {
    const seen = new Map<number, number>();
    await kuduCliLines(paths, ['table', 'scan', masters, output, '-columns', 'id,v'], (line) => {
      const row = /^\(int64 id=(-?\d+), int64 v=(-?\d+)\)$/.exec(line);
      if (row) seen.set(Number(row[1]), Number(row[2]));
    });
    const wrong = [...Array(rows).keys()].filter((id) => seen.get(id) !== id);
    expect(wrong.slice(0, 10), `rows missing from "${output}" or wrong`).toEqual([]);
    expect(seen.size).toBe(rows);
    return `kudu table scan: all ${rows} rows in "${output}"`;
  }

  it('slower than normal, each call within its bound: the job keeps going, reports nothing, copies everything', async () => {
    const { input, output, holders } = await tablesFor('ok');
    const gen = await genTableFor('ok');
    const slowed = [...new Set([...holders, gen.holder])];
    const startedAt = Date.now();
    throttle = throttleKuduTservers(paths, slowed, 300, 500);
    // Batches of 20 rows; the generated rows keep the sink writing for 3 s, the copy reads a few
    // scan calls: the job's calls meet many stopped phases.
    const r = start('ok', { input, output, sourceTimeout: '30s' }, '4s', 20, gen.name);
    const metric = watchOutageMetric(r, (l) => l.includes('dependency="kudu"'));
    try {
      await until(r, 'the source opened', 60_000, () => r.lines.find((l) => l.json?.msg === 'kudu source opened'));
      const cyclesAtOpen = throttle.cycles;
      const exit = await Promise.race([r.exited, sleep(120_000).then(() => null)]);
      const cycles = throttle.cycles - cyclesAtOpen;
      throttle.stop();
      const reported = await metric.stop();
      expect(exit?.code, stderrOf(r)).toBe(0);
      // The servers were slowed while the job read and wrote: its calls met stopped phases.
      expect(cycles, 'stopped phases while the job read and wrote').toBeGreaterThanOrEqual(4);
      expect(failures(r), 'a slow server within the bound fails nothing').toEqual([]);
      expect(logged(r, /^kudu (source|sink) .* unavailable/), 'nor is it reported as unavailable').toEqual([]);
      expect(reported, 'no outage in /metrics').toBeUndefined();
      const data = `${await checkOutput(output)}, ${await checkOutput(gen.name, GEN)}`;
      report(
        'slow tablet servers within the bound',
        `servers ${slowed.map((i) => tservers[i]).join(', ')} stopped 300 ms of every 500 ms: the copy of ` +
          `${ROWS} rows and ${GEN} generated at 100/s (batches of 20) finished ${exit!.at - startedAt} ms after the job's start ` +
          `(${cycles} stopped phases after the source opened), no warning, no outage, no failure; ${data}`,
      );
    } finally {
      throttle.stop();
      await metric.stop();
      r.kill();
      await r.exited;
    }
  }, 180_000);

  it('slower than the bound: as hung — warns, reports, fails within timeout naming the server, then recovers', async () => {
    const { input, output, holders } = await tablesFor('late');
    throttle = throttleKuduTservers(paths, holders, 6000, 6300);
    const startedAt = Date.now();
    const r = start('late', { input, output, sourceTimeout: '3s' }, '3s', 100);
    const metric = watchOutageMetric(r, (l) => l.includes('dependency="kudu"'));
    try {
      const opened = await until(r, 'the source opened', 60_000, () =>
        r.lines.find((l) => l.json?.msg === 'kudu source opened'),
      );
      const failed = await until(r, 'the job failing', 60_000, () => failures(r, opened.at)[0]);
      const reported = await metric.stop();
      const fastAt = Date.now();
      throttle.stop();
      const slowServer = `(${holders.map((i) => esc(tservers[i]!)).join('|')})`;
      const target = `tablet server ${slowServer} \\(masters ${esc(masters)}\\)`;
      expect(failed.text).toMatch(
        new RegExp(
          `${failedAs}(source "in": scanning tablet \\w+|sink "out": writing \\d+ rows) failed: ` +
            `${target} unavailable \\(timeout 3s, table "(${input}|${output})"\\): .*` +
            `(timed out after|took over) \\d+ ms`,
        ),
      );
      // Each call gave up after a third of the bound, not after the server's stopped phase.
      const callMs = Number(/(?:timed out after|took over) (\d+) ms\)?$/.exec(failed.text)?.[1]);
      expect(callMs, failed.text).toBeLessThanOrEqual(1000);
      const warnings = logged(r, new RegExp(`^kudu (source "in"|sink "out"): ${target} unavailable for \\d+ s `));
      expect(warnings.length, stderrOf(r)).toBeGreaterThan(0);
      expect(warnings[0]!.json!.msg).toMatch(/; retrying, fails after timeout 3s$/);
      expect(reported?.series, stderrOf(r)).toMatch(
        /^tributary_dependency_unavailable\{dependency="kudu",component="(source \\"in\\"|sink \\"out\\")"\} 1$/,
      );
      const exit = await Promise.race([r.exited, sleep(120_000).then(() => null)]);
      expect(exit?.code, stderrOf(r)).toBe(0);
      const data = await checkOutput(output);
      report(
        'slow tablet servers past the bound',
        `servers stopped 6 s of every 6.3 s, bounds 3 s, from the job's start: source opened ${opened.at - startedAt} ` +
          `ms, first warning ${warnings[0]!.at - startedAt} ms, /metrics ${reported!.at - startedAt} ms ` +
          `(${reported!.series}), failed ${failed.at - startedAt} ms; fast again: ` +
          `the run finished ${exit!.at - fastAt} ms after; ${data}; warning: ${warnings[0]!.json!.msg}; ` +
          `failure: ${failed.text}`,
      );
    } finally {
      throttle.stop();
      await metric.stop();
      r.kill();
      await r.exited;
    }
  }, 180_000);

  it('a sink writing to servers slower than its bound: warns, reports, fails within timeout naming the server, recovers', async () => {
    const gen = await genTableFor('sink');
    const slowServer = tservers[gen.holder]!;
    throttle = throttleKuduTservers(paths, [gen.holder], 6000, 6300);
    const startedAt = Date.now();
    const r = start('sink', undefined, '3s', 20, gen.name);
    const metric = watchOutageMetric(r, (l) => l.includes('dependency="kudu"'));
    try {
      const failed = await until(r, 'the job failing', 60_000, () => failures(r)[0]);
      const reported = await metric.stop();
      const fastAt = Date.now();
      throttle.stop();
      const target = `tablet server ${esc(slowServer)} \\(masters ${esc(masters)}\\)`;
      expect(failed.text).toMatch(
        new RegExp(
          `${failedAs}sink "gout": writing \\d+ rows failed: ${target} unavailable ` +
            `\\(timeout 3s, table "${gen.name}"\\): .*(timed out after|took over) \\d+ ms$`,
        ),
      );
      const callMs = Number(/(?:timed out after|took over) (\d+) ms$/.exec(failed.text)?.[1]);
      expect(callMs, failed.text).toBeLessThanOrEqual(1000);
      const warnings = logged(r, new RegExp(`^kudu sink "gout": ${target} unavailable for \\d+ s writing`));
      expect(warnings.length, stderrOf(r)).toBeGreaterThan(0);
      expect(warnings[0]!.json!.msg).toMatch(/; retrying, fails after timeout 3s$/);
      expect(reported?.series, stderrOf(r)).toBe(
        'tributary_dependency_unavailable{dependency="kudu",component="sink \\"gout\\""} 1',
      );
      const exit = await Promise.race([r.exited, sleep(120_000).then(() => null)]);
      expect(exit?.code, stderrOf(r)).toBe(0);
      const data = await checkOutput(gen.name, GEN);
      report(
        'slow tablet server past the sink bound',
        `server stopped 6 s of every 6.3 s, bound 3 s, from the job's start: first warning ` +
          `${warnings[0]!.at - startedAt} ms, /metrics ${reported!.at - startedAt} ms, failed ` +
          `${failed.at - startedAt} ms; fast again: the run finished ${exit!.at - fastAt} ms after; ${data}; ` +
          `warning: ${warnings[0]!.json!.msg}; failure: ${failed.text}`,
      );
    } finally {
      throttle.stop();
      await metric.stop();
      r.kill();
      await r.exited;
    }
  }, 180_000);
});
