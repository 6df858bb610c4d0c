// The Kudu row of the fault matrix for kudu lookups (docs/fault-matrix.md), against the real Kudu
// of the cluster it is given: a lookup table (mode copy, refreshed every 500 ms) while the master
// is killed (SIGKILL) — the table keeps serving its last rows, warns once, reports the outage,
// answers again once the master is back and then sees a row written after; killed for longer
// than the source's `timeout`, the table fails with TRIB_LOOKUP_UNAVAILABLE naming the masters.
// Then a point lookup (mode get) while the master hangs (SIGSTOP, the master's
// `table_locations_ttl_ms` shortened to 1.5 s so a fetch needs it): it warns, reports, and rides
// out a hang shorter than its bound with the right rows. The master is always restored.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import {
  setKuduMasterFlag,
  signalKuduMaster,
  startKuduMaster,
  stopKuduMaster,
} from '../../../../test/cluster/components/kudu.ts';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import type { DependencyOutage } from '../../core/outage.ts';
import type { TributaryError } from '../../errors.ts';
import { testKuduMasters } from '../../testing/kudu-masters.ts';
import { LookupTable } from '../lookup-table.ts';
import { KuduClient } from './client/kudu-client.ts';
import { esc, sleep, until, matrixReport } from '../../testing/tributary-run.ts';

const report = matrixReport('kudu');
import { kuduTableLoader, kuduTableOutage } from './kudu-lookup-loader.ts';
import { KuduPointLookup } from './kudu-point-lookup.ts';

interface LogLine {
  at: number;
  level: number;
  msg: string;
}

describe('kudu lookups while the master is down or hung (real Kudu)', () => {
  const run = randomUUID().slice(0, 8);
  const paths = clusterPaths();
  const masters = testKuduMasters();
  const kudu = new KuduClient({ masters: masters.split(','), operationTimeoutMs: 30_000 });
  const name = `it_kudu_lookup_${run}`;
  let masterDown = false;
  let masterFrozen = false;

  afterAll(async () => {
    if (masterFrozen) signalKuduMaster(paths, 'SIGCONT');
    if (masterDown) await startKuduMaster(paths);
    await setKuduMasterFlag(paths, 'table_locations_ttl_ms', '300000').catch(() => undefined);
    await kudu.deleteTable(name).catch(() => undefined);
    await kudu.close();
  }, 180_000);

  function logger(lines: LogLine[]): pino.Logger {
    return pino(
      { level: 'info' },
      {
        write: (s: string) => {
          const l = JSON.parse(s) as { level: number; msg: string };
          lines.push({ at: Date.now(), level: l.level, msg: l.msg });
        },
      },
    );
  }

  it('copy: a refresh rides out the master down, past timeout the table fails naming the masters', async () => {
    const table = await kudu.createTable({
      name,
      columns: [
        { name: 'id', type: 'int64', key: true },
        { name: 'title', type: 'string' },
      ],
      hashPartitions: [{ columns: ['id'], buckets: 2 }],
      replicas: 3,
    });
    await kudu.upsert(
      table,
      [1, 2, 3].map((i) => ({ id: BigInt(i), title: `t${i}` })),
    );
    const lines: LogLine[] = [];
    const reports: { at: number; o: DependencyOutage | undefined }[] = [];
    const spec = { masters, table: name, mode: 'copy' as const, timeout: '6s', refresh: '500ms' };
    const lookup = new LookupTable({
      name: 'items',
      load: kuduTableLoader('items', spec),
      refresh: spec.refresh,
      columns: ['id'],
      logger: logger(lines),
      outage: kuduTableOutage(spec, (o) => reports.push({ at: Date.now(), o })),
    });
    await lookup.open();
    try {
      expect(lookup.get('2')?.['title']).toBe('t2');
      const m = esc(masters);
      // 1. Down shorter than the bound: the last table is served, then refreshes succeed again.
      const killedAt = Date.now();
      masterDown = true;
      await stopKuduMaster(paths, 'SIGKILL');
      const warned = await until(undefined, 'a warning', 20_000, () =>
        lines.find((l) => l.at >= killedAt && l.level === 40),
      );
      expect(warned.msg).toMatch(
        new RegExp(
          `^lookup table "items": Kudu at masters ${m} unavailable; keeping the last table, .*fails after timeout 6s: `,
        ),
      );
      expect(reports.find((r) => r.at >= killedAt)?.o).toMatchObject({
        dependency: 'kudu',
        component: 'lookup "items"',
        target: `masters ${m.replace(/\\/g, '')}`,
      });
      expect(lookup.get('3')?.['title'], 'the last table is served meanwhile').toBe('t3');
      const restartAt = Date.now();
      await startKuduMaster(paths);
      masterDown = false;
      const back = await until(undefined, 'the table answering again', 20_000, () =>
        lines.find((l) => l.at >= restartAt && /answers again after/.test(l.msg)),
      );
      expect(reports.at(-1)?.o, 'the outage is over').toBeUndefined();
      expect(
        lines.filter((l) => l.at >= killedAt && l.level === 40),
        'one warning, not one per retry',
      ).toHaveLength(1);
      // Refreshes read Kudu again: a row written now is seen.
      await kudu.upsert(table, [{ id: 4n, title: 't4' }]);
      await until(undefined, 'the new row in the table', 20_000, () => lookup.get('4'));

      // 2. Down past the bound: the table fails with TRIB_LOOKUP_UNAVAILABLE naming the masters.
      const killed2At = Date.now();
      masterDown = true;
      await stopKuduMaster(paths, 'SIGKILL');
      const fatal = await until(undefined, 'the table failing', 30_000, () => {
        try {
          lookup.throwIfFailed();
          return undefined;
        } catch (e) {
          return { e, at: Date.now() };
        }
      });
      expect((fatal.e as TributaryError).code).toBe('TRIB_LOOKUP_UNAVAILABLE');
      expect((fatal.e as Error).message).toMatch(
        new RegExp(
          `^lookup table "items": Kudu at masters ${m} unavailable for [\\d.]+ s \\(timeout 6s, \\d+ attempts\\): `,
        ),
      );
      await startKuduMaster(paths);
      masterDown = false;
      report(
        'lookup table (copy) master down',
        `warned ${warned.at - killedAt} ms after SIGKILL; answers again ${back.at - restartAt} ms after the ` +
          `master's restart began; kept down: failed ${fatal.at - killed2At} ms after SIGKILL; ` +
          `warning: ${warned.msg}; failure: ${(fatal.e as Error).message}`,
      );
    } finally {
      lookup.close();
      // The next cell needs the master: restore it here too, not only in afterAll.
      if (masterDown) await startKuduMaster(paths);
      masterDown = false;
    }
  }, 120_000);

  it('get: a fetch rides out a hung master shorter than its timeout, warning and reporting', async () => {
    await setKuduMasterFlag(paths, 'table_locations_ttl_ms', '1500');
    const lines: LogLine[] = [];
    const reports: (DependencyOutage | undefined)[] = [];
    const lookup = new KuduPointLookup({
      name: 'items',
      spec: { masters, table: name, mode: 'get', timeout: '9s', ttl: '1ms' },
      columns: ['id'],
      logger: logger(lines),
      reportOutage: (o) => reports.push(o),
    });
    await lookup.open();
    try {
      expect((await lookup.fetch(['1'])).get('1')?.['title']).toBe('t1');
      // Past the locations' TTL the next fetch needs the master.
      await sleep(1600);
      const frozenAt = Date.now();
      masterFrozen = true;
      signalKuduMaster(paths, 'SIGSTOP');
      const fetched = lookup.fetch(['2', '4', '9']);
      const warned = await until(undefined, 'a warning', 20_000, () =>
        lines.find((l) => l.at >= frozenAt && l.level === 40),
      );
      const thawedAt = Date.now();
      signalKuduMaster(paths, 'SIGCONT');
      masterFrozen = false;
      const rows = await fetched;
      const doneAt = Date.now();
      expect(warned.msg).toMatch(
        new RegExp(
          `^kudu lookup "items": masters ${esc(masters)} unavailable for \\d+ s .*timed out after 3000 ms; retrying, fails after timeout 9s$`,
        ),
      );
      expect(reports[0]).toMatchObject({ dependency: 'kudu', component: 'lookup "items"' });
      expect(reports.at(-1), 'the outage is over').toBeUndefined();
      expect(lines.some((l) => /^kudu lookup "items": reads of table ".*" succeed again after/.test(l.msg))).toBe(true);
      expect(rows.get('2')?.['title']).toBe('t2');
      expect(rows.get('4')?.['title']).toBe('t4');
      expect(rows.get('9')).toBeNull();
      report(
        'lookup (get) master hung',
        `warned ${warned.at - frozenAt} ms after SIGSTOP, thawed then; the fetch returned ${doneAt - thawedAt} ms after ` +
          `SIGCONT with the right rows; warning: ${warned.msg}`,
      );
    } finally {
      if (masterFrozen) signalKuduMaster(paths, 'SIGCONT');
      masterFrozen = false;
      lookup.close();
    }
  }, 120_000);
});
