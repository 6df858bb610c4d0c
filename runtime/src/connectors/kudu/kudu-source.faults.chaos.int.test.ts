// The Kudu row of the fault matrix for the kudu source (docs/fault-matrix.md): a job copying one
// Kudu table into another through `tributary run` (slots on threads under the local supervisor,
// checkpoints every 300 ms) while the master is killed (SIGKILL) in the middle of the read and
// started again later. The source scans its tablets one after another; each tablet's scan asks
// the master where it lives once the cached locations expire (the test shortens the master's
// `table_locations_ttl_ms` to 1.5 s, 5 min by default, and slows every scan batch by 500 ms with
// Kudu's own `scanner_inject_latency_on_each_batch_ms`, so the kill lands mid-read). The source must
// warn while it retries, fail within its `timeout` naming itself and the masters, and the restart
// from the latest checkpoint must finish the copy once the master is back: `kudu table scan` of the
// output shows every row of the input. The master, its flag and the tablet servers' flag are
// always restored.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  kuduCliLines,
  setKuduMasterFlag,
  setKuduTserverFlag,
  startKuduMaster,
  stopKuduMaster,
} from '../../../../test/cluster/components/kudu.ts';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { testKuduMasters } from '../../testing/kudu-masters.ts';
import { KuduClient } from './client/kudu-client.ts';
import {
  esc,
  failures,
  logged,
  report,
  sleep,
  stderrOf,
  tributaryRun,
  until,
  watchOutageMetric,
} from './kudu-faults-harness.ts';

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

  afterAll(async () => {
    if (masterDown) await startKuduMaster(paths);
    else await setKuduMasterFlag(paths, 'table_locations_ttl_ms', '300000').catch(() => undefined);
    await setKuduTserverFlag(paths, slowScans, '0', { force: true });
    for (const t of [input, output]) await kudu.deleteTable(t).catch(() => undefined);
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
});
