// The Kudu row of the fault matrix for kudu lookups (docs/fault-matrix.md), against the real Kudu
// of the cluster it is given: a lookup table (mode copy, refreshed every 500 ms) while the master
// is killed (SIGKILL) — the table keeps serving its last rows, warns once, reports the outage,
// answers again once the master is back and then sees a row written after; killed for longer
// than the source's `timeout`, the table fails with TRIB_LOOKUP_UNAVAILABLE naming the masters.
// Then a point lookup (mode get) while the master hangs (SIGSTOP, the master's
// `table_locations_ttl_ms` shortened to 1.5 s so a fetch needs it): it warns, reports, and rides
// out a hang shorter than its bound with the right rows. Then both against the tablet server
// holding a one-replica table's only tablet hung (SIGSTOP): each call gives up after a third of
// `timeout`, so the lookup warns and reports at once (naming the server), rides out a hang
// thawed within the bound (the table serving its last rows, the fetch returning the right rows)
// and fails within the bound when it lasts (TRIB_LOOKUP_UNAVAILABLE, TRIB_KUDU_LOOKUP), then
// answers again by itself after SIGCONT. The master and the servers are always restored.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import {
  setKuduMasterFlag,
  signalKuduMaster,
  signalKuduTserver,
  startKuduMaster,
  stopKuduMaster,
} from '../../../../test/cluster/components/kudu.ts';
import { clusterPaths } from '../../../../test/cluster/paths.ts';
import type { DependencyOutage } from '../../core/outage.ts';
import type { TributaryError } from '../../errors.ts';
import { testKuduMasters, testKuduTservers } from '../../testing/kudu-masters.ts';
import { LookupTable } from '../lookup-table.ts';
import { ConnectionPool, parseHostPort } from './client/connection-pool.ts';
import { KuduClient } from './client/kudu-client.ts';
import { MasterClient } from './client/master-client.ts';
import { deadline } from './client/retry.ts';
import type { KuduTable } from './client/table-metadata.ts';
import { TabletLocations } from './client/tablet-locations.ts';
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
  const frozen = new Set<number>();
  const oneReplica = `it_kudu_lookup1_${run}`;

  afterAll(async () => {
    for (const i of frozen) signalKuduTserver(paths, i, 'SIGCONT');
    if (masterFrozen) signalKuduMaster(paths, 'SIGCONT');
    if (masterDown) await startKuduMaster(paths);
    await setKuduMasterFlag(paths, 'table_locations_ttl_ms', '300000').catch(() => undefined);
    for (const t of [name, oneReplica]) await kudu.deleteTable(t).catch(() => undefined);
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

  /** A one-replica table of one tablet (ids 1..3, title t<id>) and the tablet server holding it. */
  let hungTable: Promise<{ table: KuduTable; holder: number; address: string }> | undefined;
  function oneReplicaTable(): Promise<{ table: KuduTable; holder: number; address: string }> {
    hungTable ??= (async () => {
      const table = await kudu.createTable({
        name: oneReplica,
        columns: [
          { name: 'id', type: 'int64', key: true },
          { name: 'title', type: 'string' },
        ],
        hashPartitions: [],
        rangeColumns: ['id'],
        replicas: 1,
      });
      await kudu.upsert(
        table,
        [1, 2, 3].map((i) => ({ id: BigInt(i), title: `t${i}` })),
      );
      const tservers = testKuduTservers();
      const pool = new ConnectionPool({ user: 'tributary-test', connectTimeoutMs: 5_000 });
      try {
        const master = new MasterClient(
          masters.split(',').map((a) => parseHostPort(a, 7051)),
          pool,
        );
        const [tablet] = await new TabletLocations(master).all(oneReplica, table.id, deadline(30_000, 'locating'));
        const holder = tablet?.leader ? tservers.indexOf(`${tablet.leader.host}:${tablet.leader.port}`) : -1;
        expect(holder, 'the tablet is on one of the tablet servers').toBeGreaterThanOrEqual(0);
        return { table, holder, address: tservers[holder]! };
      } finally {
        await pool.closeAll();
      }
    })();
    return hungTable;
  }

  function freeze(i: number): number {
    frozen.add(i);
    signalKuduTserver(paths, i, 'SIGSTOP');
    return Date.now();
  }

  function thaw(i: number): number {
    signalKuduTserver(paths, i, 'SIGCONT');
    frozen.delete(i);
    return Date.now();
  }

  it('copy: a refresh rides out a hung tablet server, reporting it at once; hung past timeout the table fails', async () => {
    const { table, holder, address } = await oneReplicaTable();
    const lines: LogLine[] = [];
    const reports: { at: number; o: DependencyOutage | undefined }[] = [];
    const spec = { masters, table: oneReplica, mode: 'copy' as const, timeout: '6s', refresh: '300ms' };
    const lookup = new LookupTable({
      name: 'items',
      load: kuduTableLoader('items', spec),
      refresh: spec.refresh,
      columns: ['id'],
      logger: logger(lines),
      outage: kuduTableOutage(spec, (o) => reports.push({ at: Date.now(), o })),
    });
    await lookup.open();
    const m = esc(masters);
    try {
      expect(lookup.get('2')?.['title']).toBe('t2');
      // 1. Hung shorter than the bound (thawed at the first warning): the last table is served.
      const frozenAt = freeze(holder);
      const warned = await until(undefined, 'a warning', 20_000, () =>
        lines.find((l) => l.at >= frozenAt && l.level === 40),
      );
      const served = lookup.get('3')?.['title'];
      const thawedAt = thaw(holder);
      expect(warned.msg).toMatch(
        new RegExp(
          `^lookup table "items": Kudu at masters ${m} unavailable; keeping the last table, .*fails after timeout 6s: ` +
            `.*${esc(address)}`,
        ),
      );
      // A call to the hung server gives up after a third of the bound: the outage shows then,
      // not only once a whole load has used up the bound.
      expect(warned.at - frozenAt, warned.msg).toBeLessThan(4000);
      expect(reports.find((r) => r.at >= frozenAt)?.o).toMatchObject({
        dependency: 'kudu',
        component: 'lookup "items"',
        target: `masters ${masters}`,
      });
      expect(served, 'the last table is served meanwhile').toBe('t3');
      const back = await until(undefined, 'the table answering again', 20_000, () =>
        lines.find((l) => l.at >= thawedAt && /answers again after/.test(l.msg)),
      );
      expect(reports.at(-1)?.o, 'the outage is over').toBeUndefined();
      expect(lookup.throwIfFailed()).toBeUndefined();
      await kudu.upsert(table, [{ id: 4n, title: 't4' }]);
      await until(undefined, 'the new row in the table', 20_000, () => lookup.get('4'));

      // 2. Hung past the bound: the table fails within it, naming the masters and the server.
      const frozen2At = freeze(holder);
      const fatal = await until(undefined, 'the table failing', 30_000, () => {
        try {
          lookup.throwIfFailed();
          return undefined;
        } catch (e) {
          return { e: e as TributaryError, at: Date.now() };
        }
      });
      thaw(holder);
      expect(fatal.e.code).toBe('TRIB_LOOKUP_UNAVAILABLE');
      expect(fatal.e.message).toMatch(
        new RegExp(
          `^lookup table "items": Kudu at masters ${m} unavailable for [\\d.]+ s \\(timeout 6s, \\d+ attempts\\): ` +
            `.*${esc(address)}`,
        ),
      );
      // The bound plus the refresh tick (300 ms) the load started at and its last call; before, a load's scan used
      // the whole bound before the table even counted a failure (twice the bound in all).
      expect(fatal.at - frozen2At, fatal.e.message).toBeLessThan(6000 + 2500);
      report(
        'lookup table (copy) tablet server hung',
        `warned ${warned.at - frozenAt} ms after SIGSTOP, thawed then: answers again ${back.at - thawedAt} ms after ` +
          `SIGCONT; kept hung: failed ${fatal.at - frozen2At} ms after SIGSTOP; warning: ${warned.msg}; ` +
          `failure: ${fatal.e.message}`,
      );
    } finally {
      if (frozen.has(holder)) thaw(holder);
      lookup.close();
    }
  }, 60_000);

  it('get: a fetch rides out a hung tablet server within its timeout; hung past it the fetch fails naming it', async () => {
    const { holder, address } = await oneReplicaTable();
    const lines: LogLine[] = [];
    const reports: { at: number; o: DependencyOutage | undefined }[] = [];
    const lookup = new KuduPointLookup({
      name: 'items',
      spec: { masters, table: oneReplica, mode: 'get', timeout: '6s', ttl: '1ms' },
      columns: ['id'],
      logger: logger(lines),
      reportOutage: (o) => reports.push({ at: Date.now(), o }),
    });
    await lookup.open();
    const target = `tablet server ${esc(address)} \\(masters ${esc(masters)}\\)`;
    try {
      expect((await lookup.fetch(['1'])).get('1')?.['title']).toBe('t1');
      // 1. Thawed at the first warning: the fetch returns the right rows and misses.
      const frozenAt = freeze(holder);
      const fetched = lookup.fetch(['2', '3', '9']);
      const warned = await until(undefined, 'a warning', 20_000, () =>
        lines.find((l) => l.at >= frozenAt && l.level === 40),
      );
      const thawedAt = thaw(holder);
      const rows = await fetched;
      const doneAt = Date.now();
      expect(warned.msg).toMatch(
        new RegExp(
          `^kudu lookup "items": ${target} unavailable for \\d+ s getting 3 rows of "${oneReplica}": ` +
            `.*(timed out after|took over) 2000 ms; retrying, fails after timeout 6s$`,
        ),
      );
      expect(reports.find((r) => r.at >= frozenAt)?.o).toMatchObject({
        dependency: 'kudu',
        component: 'lookup "items"',
        target: `tablet server ${address} (masters ${masters})`,
      });
      expect(reports.at(-1)?.o, 'the outage is over').toBeUndefined();
      expect(
        lines.some((l) => l.at >= thawedAt && /^kudu lookup "items": reads of table .* succeed again/.test(l.msg)),
      ).toBe(true);
      expect(rows.get('2')?.['title']).toBe('t2');
      expect(rows.get('3')?.['title']).toBe('t3');
      expect(rows.get('9')).toBeNull();

      // 2. Hung past the bound: the fetch fails within it, naming the lookup, the server and the bound.
      const frozen2At = freeze(holder);
      const failed = await lookup.fetch(['1', '2']).then(
        () => undefined,
        (e: unknown) => ({ e: e as TributaryError, at: Date.now() }),
      );
      const thawed2At = thaw(holder);
      expect(failed?.e.code).toBe('TRIB_KUDU_LOOKUP');
      expect(failed!.e.message).toMatch(
        new RegExp(
          `^lookup "items": getting 2 keys from Kudu table "${oneReplica}" failed: ${target} unavailable ` +
            `\\(timeout 6s, table "${oneReplica}"\\): `,
        ),
      );
      expect(failed!.at - frozen2At, failed!.e.message).toBeLessThan(6000 + 500);
      // 3. Thawed, the next fetch (the restarted job's) answers with the right rows.
      const again = await lookup.fetch(['1', '2', '9']);
      const againAt = Date.now();
      expect(again.get('1')?.['title']).toBe('t1');
      expect(again.get('2')?.['title']).toBe('t2');
      expect(again.get('9')).toBeNull();
      report(
        'lookup (get) tablet server hung',
        `warned ${warned.at - frozenAt} ms after SIGSTOP, thawed then: the fetch returned ${doneAt - thawedAt} ms after ` +
          `SIGCONT with the right rows; kept hung: failed ${failed!.at - frozen2At} ms after SIGSTOP, the next fetch ` +
          `answered ${againAt - thawed2At} ms after SIGCONT; warning: ${warned.msg}; failure: ${failed!.e.message}`,
      );
    } finally {
      if (frozen.has(holder)) thaw(holder);
      lookup.close();
    }
  }, 60_000);
});
