// The Kudu row of the fault matrix (docs/fault-matrix.md): the kudu sink through `tributary run` as
// a user runs it (slots on threads under the local supervisor, checkpoints every 300 ms), against
// the real Kudu of the cluster it is given, while
//   1. the master is killed (SIGKILL) under a running job and started again later: the sink writes
//      on from cached tablet locations until they expire (the test shortens the master's
//      `table_locations_ttl_ms` to 1.5 s, 5 min by default), then retries within its `timeout`;
//   2. the master hangs (SIGSTOP): thawed within the sink's bound the job rides it out, past it
//      the job fails with TRIB_KUDU_TIMEOUT and recovers after SIGCONT;
//   3. the tablet server holding a one-replica table's only tablet hangs (SIGSTOP), then thaws.
// Each time the sink must warn while it retries (not once per retry), fail within its bound with a
// Kudu code naming the sink, the masters and (hung) the tablet server, and the supervisor's restarts
// from the latest checkpoint must recover once Kudu is back: the run finishes, and `kudu table
// scan` (Kudu's own CLI) shows every generated key with its value. Measured time-to-detect and
// time-to-recover go to stderr for the matrix. The master and tablet server are always restored
// (started, thawed).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  kuduCliLines,
  setKuduMasterFlag,
  signalKuduMaster,
  signalKuduTserver,
  startKuduMaster,
  stopKuduMaster,
} from '../../../../test/cluster/components/kudu.ts';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { testKuduMasters, testKuduTservers } from '../../testing/kudu-masters.ts';
import { parseHostPort } from './client/connection-pool.ts';
import { ConnectionPool } from './client/connection-pool.ts';
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
  type Run,
  matrixReport,
} from '../../testing/tributary-run.ts';

const report = matrixReport('kudu');

describe('kudu sink while the master is down or a tablet server hangs (tributary run, real Kudu)', () => {
  const run = randomUUID().slice(0, 8);
  const paths = clusterPaths();
  const masters = testKuduMasters();
  const tservers = testKuduTservers();
  const dir = mkdtempSync(join(tmpdir(), 'trib-kudufaults-'));
  const kudu = new KuduClient({ masters: masters.split(','), operationTimeoutMs: 30_000 });
  let masterDown = false;
  let masterFrozen = false;
  const frozen = new Set<number>();

  beforeAll(() => {
    expect(tservers.length, 'the local cluster runs three tablet servers').toBe(3);
  });

  afterAll(async () => {
    // Whatever happened, the cluster is left as it was given: thawed, the master up, its flag default.
    for (const i of frozen) signalKuduTserver(paths, i, 'SIGCONT');
    if (masterFrozen) signalKuduMaster(paths, 'SIGCONT');
    if (masterDown) await startKuduMaster(paths);
    else await setKuduMasterFlag(paths, 'table_locations_ttl_ms', '300000').catch(() => undefined);
    for (const t of [`it_kudu_master_${run}`, `it_kudu_mhung_${run}`, `it_kudu_hung_${run}`, `it_kudu_hung3_${run}`])
      await kudu.deleteTable(t).catch(() => undefined);
    await kudu.close();
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  /** `tributary run`: datagen ids 0..count-1 (v = id) at `rate`/s into the kudu table. */
  function start(name: string, table: string, count: number, rate: number, timeout = '4s'): Run {
    const graph: GraphSpec = {
      sources: [
        {
          name: 'in',
          datagen: { generator: 'schema', count, rate, fields: { id: { type: 'sequence' }, v: { type: 'sequence' } } },
        },
      ],
      sinks: [{ name: 'out', from: 'in', kudu: { masters, table, batchSize: 20, timeout } }],
    };
    const file = join(dir, `${name}.json`);
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
      join(dir, `state-${name}`),
      '--no-progress',
    ]);
  }

  /** The index (in `tservers`) of each tablet's leader, as the master reports it now. */
  async function leaders(table: KuduTable): Promise<number[]> {
    const pool = new ConnectionPool({ user: 'tributary-test', connectTimeoutMs: 5_000 });
    try {
      const master = new MasterClient(
        masters.split(',').map((m) => parseHostPort(m, 7051)),
        pool,
      );
      const tablets = await new TabletLocations(master).all(table.name, table.id, deadline(30_000, 'locating tablets'));
      return tablets.map((t) => (t.leader ? tservers.indexOf(`${t.leader.host}:${t.leader.port}`) : -1));
    } finally {
      await pool.closeAll();
    }
  }

  async function rowCount(table: KuduTable): Promise<number> {
    let n = 0;
    for await (const rows of kudu.scan(table, { timeoutMs: 10_000 })) n += rows.length;
    return n;
  }

  /** Every id 0..count-1 once with v = id, as Kudu's own CLI scans the table. */
  async function checkTable(table: string, count: number): Promise<string> {
    const seen = new Map<number, number>();
    const other: string[] = [];
    await kuduCliLines(paths, ['table', 'scan', masters, table], (line) => {
      const m = /^\(int64 id=(-?\d+), int64 v=(-?\d+)\)$/.exec(line);
      if (m) seen.set(Number(m[1]), Number(m[2]));
      else if (other.length < 5) other.push(line);
    });
    const wrong = [...Array(count).keys()].filter((id) => seen.get(id) !== id);
    expect(wrong.slice(0, 10), `ids missing or wrong (other lines: ${other.join(' | ')})`).toEqual([]);
    expect(seen.size).toBe(count);
    return `kudu table scan: all ${count} ids present with their values`;
  }

  it('master killed under a running job: warns, fails within timeout naming the masters, recovers from its checkpoint', async () => {
    const tableName = `it_kudu_master_${run}`;
    const table = await kudu.createTable({
      name: tableName,
      columns: [
        { name: 'id', type: 'int64', key: true },
        { name: 'v', type: 'int64' },
      ],
      hashPartitions: [{ columns: ['id'], buckets: 3 }],
      replicas: 3,
    });
    // Locations expire soon, as they would after 5 min of a master outage.
    await setKuduMasterFlag(paths, 'table_locations_ttl_ms', '1500');
    const COUNT = 1600;
    const r = start('master', tableName, COUNT, 100);
    try {
      await until(r, '200 rows in the table', 60_000, async () => ((await rowCount(table)) >= 200 ? true : undefined));
      const metric = watchOutageMetric(r, (l) => l.includes('dependency="kudu"'));
      const killedAt = Date.now();
      masterDown = true;
      await stopKuduMaster(paths, 'SIGKILL');
      // The sink writes on from its cached locations until they expire, then cannot reach the master.
      const failed = await until(r, 'the job failing', 60_000, () => failures(r, killedAt)[0]);
      // While it retried, the slot's /metrics said so (the sink's reportOutage, through the slot).
      const reported = await metric.stop();
      expect(reported?.series, stderrOf(r)).toBe(
        'tributary_dependency_unavailable{dependency="kudu",component="sink \\"out\\""} 1',
      );
      const warnings = logged(r, /^kudu sink "out": masters .* unavailable for \d+ s /, killedAt);
      expect(warnings.length, stderrOf(r)).toBeGreaterThan(0);
      const first = warnings[0]!;
      expect(first.json!.msg).toMatch(
        new RegExp(
          `^kudu sink "out": masters ${esc(masters)} unavailable for \\d+ s (writing \\d+ rows to|locating tablets of|opening table) "${tableName}"?: ` +
            `kudu: no leader master among ${esc(masters)} .*; retrying, fails after timeout 4s$`,
        ),
      );
      const failure = failed.text;
      expect(failure).toMatch(
        new RegExp(
          `^error TRIB_KUDU_CONNECT: sink "out": writing \\d+ rows failed: masters ${esc(masters)} unavailable \\(timeout 4s, table "${tableName}"\\)`,
        ),
      );
      // Not one line per retry: the client retries every ≤ 1 s, the sink warns every 4/3 s at most.
      const beforeFailure = warnings.filter((w) => w.at <= failed.at);
      expect(beforeFailure.length).toBeLessThanOrEqual(4);
      // The restarted attempt cannot open the table either: it too fails within the bound.
      const second = await until(r, 'a restarted attempt failing', 60_000, () => failures(r, failed.at + 1)[0]);
      expect(second.text).toMatch(
        new RegExp(
          `^error TRIB_KUDU_CONNECT: sink "out": opening table "${tableName}" failed: masters ${esc(masters)} unavailable`,
        ),
      );
      const startedAt = Date.now();
      await startKuduMaster(paths);
      masterDown = false;
      const healthyAt = Date.now();
      const reopened = await until(
        r,
        'the sink opened again',
        60_000,
        () => logged(r, /^kudu sink opened$/, startedAt)[0],
      );
      const exit = await Promise.race([r.exited, sleep(120_000).then(() => null)]);
      expect(exit?.code, stderrOf(r)).toBe(0);
      expect(logged(r, /^restoring state$/, failed.at).length, 'restarted from a checkpoint').toBeGreaterThan(0);
      const data = await checkTable(tableName, COUNT);
      report(
        'master down',
        `detect ${failed.at - killedAt} ms after SIGKILL (first warning after ${first.at - killedAt} ms, ` +
          `${warnings.length} warning(s) in all, ${failures(r).length} failed attempt(s); /metrics showed the outage ` +
          `${reported!.at - killedAt} ms after SIGKILL); master restarted ` +
          `(ksck healthy after ${healthyAt - startedAt} ms), sink opened ${reopened.at - startedAt} ms after the ` +
          `restart began; run finished ${exit!.at - startedAt} ms after; ${data}; failure: ${failure}`,
      );
    } finally {
      r.kill();
      await r.exited;
      if (process.env['KUDU_FAULTS_DUMP']) writeFileSync(process.env['KUDU_FAULTS_DUMP'], stderrOf(r, Infinity));
    }
  }, 180_000);

  it('master hung (SIGSTOP): rides out a short hang, warns and fails within timeout on a long one, recovers', async () => {
    const tableName = `it_kudu_mhung_${run}`;
    const table = await kudu.createTable({
      name: tableName,
      columns: [
        { name: 'id', type: 'int64', key: true },
        { name: 'v', type: 'int64' },
      ],
      hashPartitions: [{ columns: ['id'], buckets: 3 }],
      replicas: 3,
    });
    await setKuduMasterFlag(paths, 'table_locations_ttl_ms', '1500');
    const COUNT = 1200;
    // Bound 6 s: each master call waits 2 s, so a hang is seen (and warned about) before the bound.
    const r = start('mhung', tableName, COUNT, 100, '6s');
    const m = esc(masters);
    try {
      await until(r, '200 rows in the table', 60_000, async () => ((await rowCount(table)) >= 200 ? true : undefined));
      // 1. A hang shorter than the bound: thawed at the first warning, the sink rides it out.
      const metric = watchOutageMetric(r, (l) => l.includes('dependency="kudu"'));
      const shortAt = Date.now();
      masterFrozen = true;
      signalKuduMaster(paths, 'SIGSTOP');
      const warned = await until(
        r,
        'a warning',
        30_000,
        () => logged(r, new RegExp(`^kudu sink "out": masters ${m} unavailable for \\d+ s `), shortAt)[0],
      );
      // The metrics poll (every 200 ms) sees the reported outage; the thaw stays well within the bound.
      await sleep(1000);
      const reported = await metric.stop();
      signalKuduMaster(paths, 'SIGCONT');
      masterFrozen = false;
      const thawedAt = Date.now();
      expect(warned.json!.msg).toMatch(/; retrying, fails after timeout 6s$/);
      const resumed = await until(
        r,
        'writes succeeding again',
        30_000,
        () => logged(r, /^kudu sink "out": writes to table ".*" succeed again after [\d.]+ s$/, shortAt)[0],
      );
      expect(failures(r, shortAt), 'a hang shorter than the bound is ridden out').toEqual([]);
      expect(reported?.series, stderrOf(r)).toBe(
        'tributary_dependency_unavailable{dependency="kudu",component="sink \\"out\\""} 1',
      );
      // 2. A hang past the bound: the job fails with the Kudu code naming the masters, then recovers.
      await sleep(500);
      const longAt = Date.now();
      masterFrozen = true;
      signalKuduMaster(paths, 'SIGSTOP');
      const failed = await until(r, 'the job failing', 60_000, () => failures(r, longAt)[0]);
      signalKuduMaster(paths, 'SIGCONT');
      masterFrozen = false;
      const thawed2At = Date.now();
      expect(failed.text).toMatch(
        new RegExp(
          `^error TRIB_KUDU_TIMEOUT: sink "out": (writing \\d+ rows|opening table "${tableName}") failed: ` +
            `masters ${m} unavailable \\(timeout 6s, table "${tableName}"\\): `,
        ),
      );
      const warnings = logged(r, new RegExp(`^kudu sink "out": masters ${m} unavailable`), longAt);
      expect(warnings.length, stderrOf(r)).toBeGreaterThan(0);
      expect(warnings.filter((w) => w.at <= failed.at).length).toBeLessThanOrEqual(4);
      const exit = await Promise.race([r.exited, sleep(120_000).then(() => null)]);
      expect(exit?.code, stderrOf(r)).toBe(0);
      expect(logged(r, /^restoring state$/, failed.at).length, 'restarted from a checkpoint').toBeGreaterThan(0);
      const reopened = logged(r, /^kudu sink opened$/, thawed2At)[0];
      const data = await checkTable(tableName, COUNT);
      report(
        'master hung',
        `short hang: first warning ${warned.at - shortAt} ms after SIGSTOP (/metrics ${reported!.at - shortAt} ms), ` +
          `thawed then, writes succeed again ${resumed.at - thawedAt} ms after SIGCONT, no failure; long hang: ` +
          `failed ${failed.at - longAt} ms after SIGSTOP (first warning ${warnings[0]!.at - longAt} ms, ` +
          `${warnings.length} warning(s)), sink opened ${reopened ? reopened.at - thawed2At : '?'} ms after SIGCONT, ` +
          `run finished ${exit!.at - thawed2At} ms after; ${data}; warning: ${warned.json!.msg}; failure: ${failed.text}`,
      );
    } finally {
      if (masterFrozen) signalKuduMaster(paths, 'SIGCONT');
      masterFrozen = false;
      await setKuduMasterFlag(paths, 'table_locations_ttl_ms', '300000').catch(() => undefined);
      r.kill();
      await r.exited;
      if (process.env['KUDU_FAULTS_DUMP'])
        writeFileSync(`${process.env['KUDU_FAULTS_DUMP']}.mhung`, stderrOf(r, Infinity));
    }
  }, 180_000);

  it('the tablet server of a one-replica table hung (SIGSTOP): warns naming it, fails within timeout, recovers after SIGCONT', async () => {
    const tableName = `it_kudu_hung_${run}`;
    // One tablet, one replica: no other server can take over, so the sink waits on this one.
    const table = await kudu.createTable({
      name: tableName,
      columns: [
        { name: 'id', type: 'int64', key: true },
        { name: 'v', type: 'int64' },
      ],
      hashPartitions: [],
      rangeColumns: ['id'],
      replicas: 1,
    });
    const tablets = await leaders(table);
    expect(tablets).toHaveLength(1);
    const holder = tablets[0]!;
    expect(holder, 'the tablet is on one of the tablet servers').toBeGreaterThanOrEqual(0);
    const hungAddress = tservers[holder]!;
    const COUNT = 1200;
    const r = start('hung', tableName, COUNT, 100);
    try {
      await until(r, '200 rows in the table', 60_000, async () => ((await rowCount(table)) >= 200 ? true : undefined));
      const frozenAt = Date.now();
      frozen.add(holder);
      signalKuduTserver(paths, holder, 'SIGSTOP');
      const failed = await until(r, 'the job failing', 60_000, () => failures(r, frozenAt)[0]);
      const target = `tablet server ${esc(hungAddress)} \\(masters ${esc(masters)}\\)`;
      expect(failed.text).toMatch(
        new RegExp(
          `^error TRIB_KUDU_TIMEOUT: sink "out": writing \\d+ rows failed: ${target} unavailable ` +
            `\\(timeout 4s, table "${tableName}"\\): kudu: writing \\d+ rows to "${tableName}" did not complete in time; ` +
            `last error: .*(Write to ${esc(hungAddress)} timed out after|connecting to ${esc(hungAddress)} took over) \\d+ ms$`,
        ),
      );
      // Each call waited a part of the bound, never longer than the bound itself.
      const callMs = Number(/(?:timed out after|took over) (\d+) ms$/.exec(failed.text)?.[1]);
      expect(callMs).toBeLessThan(4000);
      const warnings = logged(r, new RegExp(`^kudu sink "out": ${target} unavailable for \\d+ s writing`), frozenAt);
      expect(warnings.length, stderrOf(r)).toBeGreaterThan(0);
      expect(warnings.filter((w) => w.at <= failed.at).length).toBeLessThanOrEqual(4);
      expect(warnings[0]!.json!.msg).toMatch(/(timed out after|took over) \d+ ms; retrying, fails after timeout 4s$/);
      // A restarted attempt meets the same hung server (the master still places the tablet there).
      const second = await until(r, 'a restarted attempt failing', 60_000, () => failures(r, failed.at + 1)[0]);
      expect(second.text).toMatch(new RegExp(`^error TRIB_KUDU_TIMEOUT: sink "out": .*${target} unavailable`));
      const thawedAt = Date.now();
      signalKuduTserver(paths, holder, 'SIGCONT');
      frozen.delete(holder);
      const before = failures(r).length;
      // Recovered: rows written after the thaw (the table grows past what it held while frozen).
      const frozenCount = await rowCount(table);
      const growsAt = await until(r, 'new rows after the thaw', 60_000, async () =>
        (await rowCount(table)) > frozenCount ? Date.now() : undefined,
      );
      const exit = await Promise.race([r.exited, sleep(120_000).then(() => null)]);
      expect(exit?.code, stderrOf(r)).toBe(0);
      expect(logged(r, /^restoring state$/, failed.at).length, 'restarted from a checkpoint').toBeGreaterThan(0);
      const data = await checkTable(tableName, COUNT);
      report(
        'tablet server hung',
        `detect ${failed.at - frozenAt} ms after SIGSTOP (first warning after ${warnings[0]!.at - frozenAt} ms, ` +
          `${warnings.length} warning(s) before the first failure); ${before} failed attempt(s) while hung; ` +
          `after SIGCONT new rows in ${growsAt - thawedAt} ms (the table's scan included), run finished ` +
          `${exit!.at - thawedAt} ms after; ${data}; failure: ${failed.text}`,
      );
    } finally {
      r.kill();
      await r.exited;
      if (process.env['KUDU_FAULTS_DUMP'])
        writeFileSync(`${process.env['KUDU_FAULTS_DUMP']}.hung`, stderrOf(r, Infinity));
    }
  }, 180_000);

  it('the leader of a three-replica table hung (SIGSTOP): the sink rides it out at the new leader, never failing', async () => {
    const tableName = `it_kudu_hung3_${run}`;
    const table = await kudu.createTable({
      name: tableName,
      columns: [
        { name: 'id', type: 'int64', key: true },
        { name: 'v', type: 'int64' },
      ],
      hashPartitions: [],
      rangeColumns: ['id'],
      replicas: 3,
    });
    const COUNT = 1200;
    // The default bound, 30 s: each call waits a third of it, 10 s. The followers elect a new leader
    // 1.5 s after the hung one's last heartbeat, or about 7 s when their first votes split, and the
    // master learns it at their next heartbeat: with 20 s one run in six needed a second call.
    const r = start('hung3', tableName, COUNT, 100, '30s');
    try {
      await until(r, '200 rows in the table', 60_000, async () => ((await rowCount(table)) >= 200 ? true : undefined));
      const leader = (await leaders(table))[0]!;
      expect(leader, 'the tablet has a leader').toBeGreaterThanOrEqual(0);
      const hungAddress = tservers[leader]!;
      const frozenAt = Date.now();
      frozen.add(leader);
      signalKuduTserver(paths, leader, 'SIGSTOP');
      const warned = await until(
        r,
        'a warning',
        60_000,
        () => logged(r, new RegExp(`^kudu sink "out": tablet server ${esc(hungAddress)} .*unavailable`), frozenAt)[0],
      );
      // A call to it, or a connection to it, got no answer within a third of the bound.
      expect(warned.json!.msg).toMatch(/(timed out after|took over) \d+ ms; retrying, fails after timeout 30s$/);
      const resumed = await until(
        r,
        'writes succeeding again',
        60_000,
        () => logged(r, /^kudu sink "out": writes to table ".*" succeed again after [\d.]+ s$/, frozenAt)[0],
      );
      const movedTo = (await leaders(table))[0];
      const thawedAt = Date.now();
      signalKuduTserver(paths, leader, 'SIGCONT');
      frozen.delete(leader);
      const exit = await Promise.race([r.exited, sleep(120_000).then(() => null)]);
      expect(exit?.code, stderrOf(r)).toBe(0);
      expect(failures(r), 'the job never failed').toEqual([]);
      expect(movedTo, 'leadership moved off the hung server').not.toBe(leader);
      const data = await checkTable(tableName, COUNT);
      report(
        'tablet server hung, three replicas',
        `first warning ${warned.at - frozenAt} ms after SIGSTOP, writes at the new leader ${resumed.at - frozenAt} ms ` +
          `after it (no failure); thawed ${thawedAt - frozenAt} ms after; ${data}; warning: ${warned.json!.msg}`,
      );
    } finally {
      r.kill();
      await r.exited;
      if (process.env['KUDU_FAULTS_DUMP'])
        writeFileSync(`${process.env['KUDU_FAULTS_DUMP']}.hung3`, stderrOf(r, Infinity));
    }
  }, 180_000);
});
