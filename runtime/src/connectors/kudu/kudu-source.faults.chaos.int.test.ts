// The Kudu row of the fault matrix for the kudu source (docs/fault-matrix.md): a job copying one
// Kudu table into another through `tributary run` (slots on threads under the local supervisor,
// checkpoints every 300 ms) while the master is killed (SIGKILL) in the middle of the read and
// started again later. The source scans its tablets one after another; each tablet's scan asks
// the master where it lives once the cached locations expire (the test shortens the master's
// `table_locations_ttl_ms` to 1.5 s, 5 min by default, and slows every scan batch by 500 ms with
// Kudu's own `scanner_inject_latency_on_each_batch_ms`, so the kill lands mid-read). The source must
// warn while it retries, fail within its `timeout` naming itself and the masters, and the restart
// from the latest checkpoint must finish the copy once the master is back: `kudu table scan` of the
// output shows every row of the input. Then the tablet server holding a one-replica table's only
// tablet hangs (SIGSTOP) under the scan: each scan call waits a third of the source's `timeout`,
// the source warns and reports it, fails with TRIB_KUDU_TIMEOUT naming that server, and after
// SIGCONT the restart finishes the copy. The master, the flags and the servers are always restored.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  kuduCliLines,
  setKuduMasterFlag,
  setKuduTserverFlag,
  signalKuduTserver,
  startKuduMaster,
  stopKuduMaster,
} from '../../../../test/cluster/components/kudu.ts';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { testKuduMasters, testKuduTservers } from '../../testing/kudu-masters.ts';
import { ConnectionPool, parseHostPort } from './client/connection-pool.ts';
import { KuduClient } from './client/kudu-client.ts';
import { MasterClient } from './client/master-client.ts';
import { deadline } from './client/retry.ts';
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
} from '../../testing/tributary-run.ts';

const report = matrixReport('kudu');

const ROWS = 6000;
const slowScans = 'scanner_inject_latency_on_each_batch_ms';

describe('kudu source while the master is down (tributary run, real Kudu)', () => {
  const run = randomUUID().slice(0, 8);
  const paths = clusterPaths();
  const masters = testKuduMasters();
  const dir = mkdtempSync(join(tmpdir(), 'trib-kudusrcfaults-'));
  const kudu = new KuduClient({ masters: masters.split(','), operationTimeoutMs: 30_000 });
  const input = `it_kudu_src_in_${run}`;
  const output = `it_kudu_src_out_${run}`;
  let masterDown = false;
  const frozen = new Set<number>();
  const hungIn = `it_kudu_src_hin_${run}`;
  const hungOut = `it_kudu_src_hout_${run}`;

  afterAll(async () => {
    for (const i of frozen) signalKuduTserver(paths, i, 'SIGCONT');
    if (masterDown) await startKuduMaster(paths);
    else await setKuduMasterFlag(paths, 'table_locations_ttl_ms', '300000').catch(() => undefined);
    await setKuduTserverFlag(paths, slowScans, '0', { force: true });
    for (const t of [input, output, hungIn, hungOut]) await kudu.deleteTable(t).catch(() => undefined);
    await kudu.close();
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it('master killed mid-read: warns, fails within timeout naming the source and masters, the restart finishes the copy', async () => {
    const columns = [
      { name: 'id', type: 'int64', key: true },
      { name: 'v', type: 'int64' },
    ] as const;
    const inTable = await kudu.createTable({
      name: input,
      columns,
      hashPartitions: [{ columns: ['id'], buckets: 6 }],
      replicas: 3,
    });
    await kudu.createTable({ name: output, columns, hashPartitions: [{ columns: ['id'], buckets: 3 }], replicas: 3 });
    for (let start = 0; start < ROWS; start += 1000) {
      await kudu.upsert(
        inTable,
        Array.from({ length: 1000 }, (_, j) => ({ id: BigInt(start + j), v: BigInt(start + j) })),
      );
    }
    await setKuduMasterFlag(paths, 'table_locations_ttl_ms', '1500');
    await setKuduTserverFlag(paths, slowScans, '500', { force: true });

    const graph: GraphSpec = {
      sources: [{ name: 'in', kudu: { masters, table: input, timeout: '6s' } }],
      sinks: [{ name: 'out', from: 'in', kudu: { masters, table: output, batchSize: 200, timeout: '4s' } }],
    };
    const file = join(dir, 'copy.json');
    writeFileSync(file, JSON.stringify(graph));
    const r = tributaryRun([
      file,
      '--threads',
      '--parallelism',
      '1',
      '--max-restarts',
      '30',
      '--checkpoint-interval',
      '300ms',
      '--state-dir',
      join(dir, 'state'),
      '--no-progress',
    ]);
    try {
      // Six tablets of at least 1 s each (two batches of 500 ms): 2.5 s after the source opened it
      // is in the middle of its read (the failure below shows it: it comes from scanning a tablet).
      await until(r, 'the source opened', 60_000, () => r.lines.find((l) => l.json?.msg === 'kudu source opened'));
      await sleep(2500);
      const metric = watchOutageMetric(r, (l) => l.includes('component="source \\"in\\""'));
      const killedAt = Date.now();
      masterDown = true;
      await stopKuduMaster(paths, 'SIGKILL');
      const failed = await until(r, 'the job failing', 60_000, () => failures(r, killedAt)[0]);
      // While it retried, the slot's /metrics said so (the source's reportOutage, through the slot).
      const reported = await metric.stop();
      expect(reported?.series, stderrOf(r)).toBe(
        'tributary_dependency_unavailable{dependency="kudu",component="source \\"in\\""} 1',
      );
      const second = await until(r, 'a restarted attempt failing', 60_000, () => failures(r, failed.at + 1)[0]);
      const during = failures(r, killedAt);
      const m = esc(masters);
      for (const f of during) {
        expect(f.text).toMatch(
          new RegExp(
            `^error TRIB_KUDU_CONNECT: (source "in"|sink "out"): (scanning tablet \\w+|writing \\d+ rows|opening table "\\w+") ` +
              `failed: masters ${m} unavailable \\(timeout [46]s, table "\\w+"\\): kudu: no leader master among ${m} `,
          ),
        );
      }
      // The source needs the master for its next tablet; the sink has nothing to write without it.
      const fromSource = during.find((f) => f.text.includes('error TRIB_KUDU_CONNECT: source "in": scanning tablet'));
      expect(fromSource?.text, stderrOf(r)).toBeDefined();
      const warnings = logged(
        r,
        new RegExp(`^kudu source "in": masters ${m} unavailable for \\d+ s scanning "${input}": `),
        killedAt,
      );
      expect(warnings.length, stderrOf(r)).toBeGreaterThan(0);
      expect(warnings[0]!.json!.msg).toMatch(/; retrying, fails after timeout 6s$/);
      const restartedAt = Date.now();
      await startKuduMaster(paths);
      masterDown = false;
      const reopened = await until(r, 'the source opened again', 60_000, () =>
        r.lines.find((l) => l.at >= restartedAt && l.json?.msg === 'kudu source opened'),
      );
      const exit = await Promise.race([r.exited, sleep(120_000).then(() => null)]);
      expect(exit?.code, stderrOf(r)).toBe(0);
      expect(logged(r, /^restoring state$/, failed.at).length, 'restarted from a checkpoint').toBeGreaterThan(0);
      await setKuduTserverFlag(paths, slowScans, '0', { force: true });

      const seen = new Map<number, number>();
      await kuduCliLines(paths, ['table', 'scan', masters, output], (line) => {
        const row = /^\(int64 id=(-?\d+), int64 v=(-?\d+)\)$/.exec(line);
        if (row) seen.set(Number(row[1]), Number(row[2]));
      });
      const wrong = [...Array(ROWS).keys()].filter((id) => seen.get(id) !== id);
      expect(wrong.slice(0, 10), 'rows of the input missing from the output or wrong').toEqual([]);
      expect(seen.size).toBe(ROWS);
      report(
        'master down while the source reads',
        `detect ${failed.at - killedAt} ms after SIGKILL (first source warning after ${warnings[0]!.at - killedAt} ms, ` +
          `/metrics showed it after ${reported!.at - killedAt} ms; ` +
          `${during.length} failed attempt(s) while down, the second after ${second.at - killedAt} ms); ` +
          `the source opened again ${reopened.at - restartedAt} ms after the master's restart began, the run finished ` +
          `${exit!.at - restartedAt} ms after; kudu table scan: all ${ROWS} rows of the input in the output; ` +
          `failure: ${fromSource!.text}`,
      );
    } finally {
      r.kill();
      await r.exited;
      if (process.env['KUDU_FAULTS_DUMP'])
        writeFileSync(`${process.env['KUDU_FAULTS_DUMP']}.src`, stderrOf(r, Infinity));
    }
  }, 180_000);

  it('a tablet server hung under the scan (SIGSTOP): each call waits a third of timeout, warns, fails, recovers', async () => {
    const tservers = testKuduTservers();
    const columns = [
      { name: 'id', type: 'int64', key: true },
      { name: 'v', type: 'int64' },
      { name: 'pad', type: 'string' },
    ] as const;
    // One tablet, one replica: the scan cannot go elsewhere. About 4 MB: four 1 MB batches, each
    // slowed 500 ms, so the freeze lands while the source reads it.
    const inTable = await kudu.createTable({
      name: hungIn,
      columns,
      hashPartitions: [],
      rangeColumns: ['id'],
      replicas: 1,
    });
    await kudu.createTable({ name: hungOut, columns, hashPartitions: [{ columns: ['id'], buckets: 3 }], replicas: 3 });
    const N = 4000;
    const pad = 'x'.repeat(1000);
    for (let start = 0; start < N; start += 500) {
      await kudu.upsert(
        inTable,
        Array.from({ length: 500 }, (_, j) => ({ id: BigInt(start + j), v: BigInt(start + j), pad })),
      );
    }
    const pool = new ConnectionPool({ user: 'tributary-test', connectTimeoutMs: 5_000 });
    let holder: number;
    try {
      const master = new MasterClient(
        masters.split(',').map((a) => parseHostPort(a, 7051)),
        pool,
      );
      const [tablet] = await new TabletLocations(master).all(hungIn, inTable.id, deadline(30_000, 'locating'));
      holder = tablet?.leader ? tservers.indexOf(`${tablet.leader.host}:${tablet.leader.port}`) : -1;
    } finally {
      await pool.closeAll();
    }
    expect(holder, 'the tablet is on one of the tablet servers').toBeGreaterThanOrEqual(0);
    const hungAddress = tservers[holder]!;
    await setKuduTserverFlag(paths, slowScans, '500', { force: true });
    // The sink's bound is the default 30 s: it rides out a hung leader of its output (see the sink's cells).
    const graph: GraphSpec = {
      sources: [{ name: 'in', kudu: { masters, table: hungIn, timeout: '9s' } }],
      sinks: [{ name: 'out', from: 'in', kudu: { masters, table: hungOut, batchSize: 250 } }],
    };
    const file = join(dir, 'hung.json');
    writeFileSync(file, JSON.stringify(graph));
    const r = tributaryRun([
      file,
      '--threads',
      '--parallelism',
      '1',
      '--max-restarts',
      '30',
      '--checkpoint-interval',
      '300ms',
      '--state-dir',
      join(dir, 'state-hung'),
      '--no-progress',
    ]);
    try {
      await until(r, 'the source opened', 60_000, () => r.lines.find((l) => l.json?.msg === 'kudu source opened'));
      // 300 ms on: the scan's connection is set up and its first call is in flight (each batch is
      // slowed 500 ms), and the tablet's scan (its deadline, `timeout`, runs from its start) has
      // most of its bound left.
      await sleep(300);
      const metric = watchOutageMetric(r, (l) => l.includes('component="source \\"in\\""'));
      const frozenAt = Date.now();
      frozen.add(holder);
      signalKuduTserver(paths, holder, 'SIGSTOP');
      const target = `tablet server ${esc(hungAddress)} \\(masters ${esc(masters)}\\)`;
      const failed = await until(r, 'the source failing', 60_000, () =>
        failures(r, frozenAt).find((f) => f.text.includes('source "in"')),
      );
      const reported = await metric.stop();
      const thawedAt = Date.now();
      signalKuduTserver(paths, holder, 'SIGCONT');
      frozen.delete(holder);
      // Scans at full speed again: a restarted attempt rescans the tablet (skipping the rows it
      // emitted) within the same 9 s, which the slowed scan plus the sink's writes would not fit.
      await setKuduTserverFlag(paths, slowScans, '0', { force: true });
      expect(failed.text).toMatch(
        new RegExp(
          `^error TRIB_KUDU_TIMEOUT: source "in": scanning tablet \\w+ failed: ${target} unavailable ` +
            `\\(timeout 9s, table "${hungIn}"\\): .*Scan to ${esc(hungAddress)} timed out after \\d+ ms`,
        ),
      );
      // Each call waited a third of the bound (3 s), not the whole of it: before, one call waited
      // up to 30 s (here what was left of the 9 s), silent, and the source failed without a warning.
      const callMs = Number(/timed out after (\d+) ms\)?$/.exec(failed.text)?.[1]);
      expect(callMs, failed.text).toBeLessThanOrEqual(3000);
      const warnings = logged(r, new RegExp(`^kudu source "in": ${target} unavailable for \\d+ s scanning`), frozenAt);
      expect(warnings.length, stderrOf(r)).toBeGreaterThan(0);
      expect(warnings.filter((w) => w.at <= failed.at).length).toBeLessThanOrEqual(4);
      expect(warnings[0]!.json!.msg).toMatch(/timed out after \d+ ms; retrying, fails after timeout 9s$/);
      expect(reported?.series, stderrOf(r)).toBe(
        'tributary_dependency_unavailable{dependency="kudu",component="source \\"in\\""} 1',
      );
      const exit = await Promise.race([r.exited, sleep(120_000).then(() => null)]);
      expect(exit?.code, stderrOf(r)).toBe(0);
      expect(logged(r, /^restoring state$/, failed.at).length, 'restarted from a checkpoint').toBeGreaterThan(0);
      const seen = new Map<number, number>();
      await kuduCliLines(paths, ['table', 'scan', masters, hungOut, '-columns', 'id,v'], (line) => {
        const row = /^\(int64 id=(-?\d+), int64 v=(-?\d+)\)$/.exec(line);
        if (row) seen.set(Number(row[1]), Number(row[2]));
      });
      const wrong = [...Array(N).keys()].filter((id) => seen.get(id) !== id);
      expect(wrong.slice(0, 10), 'rows of the input missing from the output or wrong').toEqual([]);
      expect(seen.size).toBe(N);
      report(
        'tablet server hung under a scan',
        `detect ${failed.at - frozenAt} ms after SIGSTOP (first warning after ${warnings[0]!.at - frozenAt} ms, ` +
          `${warnings.length} warning(s), /metrics after ${reported!.at - frozenAt} ms); the run finished ` +
          `${exit!.at - thawedAt} ms after SIGCONT; kudu table scan: all ${N} rows in the output; ` +
          `warning: ${warnings[0]!.json!.msg}; failure: ${failed.text}`,
      );
    } finally {
      for (const i of frozen) signalKuduTserver(paths, i, 'SIGCONT');
      frozen.clear();
      r.kill();
      await r.exited;
      if (process.env['KUDU_FAULTS_DUMP'])
        writeFileSync(`${process.env['KUDU_FAULTS_DUMP']}.srchung`, stderrOf(r, Infinity));
    }
  }, 180_000);
});
