// A real Kudu master and tablet server that require encrypted connections
// (--rpc_encryption=required), started here from the local cluster's Kudu build
// (TRIBUTARY_KUDU_HOME) on free loopback ports. Without `tls` the client refuses with its own
// code; with the master's CA (from its web UI's /ipki-ca-cert-pem) it creates a table, writes
// and scans through TLS to both servers, and so does a job's kudu sink given the CA as a file
// (creating a range-partitioned table); a CA that did not sign the server's certificate (the
// shared cluster's master's, another IPKI CA) is refused, on this cluster and, the other way
// round, on the shared one, whose encryption is only optional: a client configured for TLS
// uses it there too instead of going on in the clear; a server with encryption disabled is
// refused by a client configured for TLS.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ports } from '../../../../../test/cluster/ports.ts';
import { TributaryError } from '../../../errors.ts';
import { JobExecutor } from '../../../job/job-executor.ts';
import type { GraphSpec } from '../../../graph/spec.ts';
import { silentLogger } from '../../../telemetry/logger.ts';
import { validateGraph } from '../../validate-graph.ts';
import { testKuduMasters } from '../../../testing/kudu-masters.ts';
import { KuduClient, type KuduClientOptions } from './kudu-client.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The IPKI CA certificate a master's web UI serves; undefined until the master serves it. */
async function caOf(webPort: number): Promise<string | undefined> {
  const res = await fetch(`http://127.0.0.1:${webPort}/ipki-ca-cert-pem`).catch(() => undefined);
  const text = res?.ok === true ? await res.text() : '';
  return text.includes('BEGIN CERTIFICATE') ? text : undefined;
}

/** Retries `attempt` while the servers are still starting (connection refused, no tablet server yet). */
async function whenUp<T>(servers: ChildProcess[], attempt: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      const starting =
        err instanceof TributaryError &&
        (err.code === 'TRIB_KUDU_CONNECT' || /tablet servers|not enough|initializ/i.test(err.message));
      if (!starting || i >= 240) throw err;
      for (const s of servers) expect(s.exitCode).toBeNull();
      await sleep(250);
    }
  }
}

describe('Kudu client against servers that require TLS', () => {
  const home = process.env.TRIBUTARY_KUDU_HOME;
  if (!home)
    throw new Error('TRIBUTARY_KUDU_HOME is not set: start the local cluster with --with kudu and eval its env');
  const dir = mkdtempSync(join(tmpdir(), 'kudu-tls-'));
  const servers: ChildProcess[] = [];
  let address: string;
  let plainAddress: string;
  let ca: string;
  let sharedCa: string;

  function start(binary: string, flags: string[]): ChildProcess {
    // Cloud probes go to the cluster's closed loopback port, as in the cluster's own Kudu.
    const noCloud = `http://127.0.0.1:${ports.kuduNoCloud}/`;
    const child = spawn(
      join(home!, 'bin', binary),
      [
        '--logtostderr',
        '--time_source=system_unsync',
        '--unlock_unsafe_flags',
        '--enable_minidumps=false',
        '--memory_limit_hard_bytes=536870912',
        '--block_cache_capacity_mb=32',
        '--rpc_encryption=required',
        ...flags,
        ...['aws_instance_id', 'azure_instance_id', 'gce_instance_id', 'openstack_metadata'].map(
          (f) => `--cloud_${f}_url=${noCloud}`,
        ),
      ],
      {
        env: { ...process.env, LD_LIBRARY_PATH: join(home!, 'lib'), SASL_PATH: join(home!, 'lib', 'sasl2') },
        stdio: 'ignore',
      },
    );
    servers.push(child);
    return child;
  }

  const client = (options: Partial<KuduClientOptions>): KuduClient =>
    new KuduClient({ masters: [address], operationTimeoutMs: 5_000, connectTimeoutMs: 1_000, ...options });

  beforeAll(async () => {
    const [rpc, web, tsRpc] = [await freePort(), await freePort(), await freePort()];
    address = `127.0.0.1:${rpc}`;
    start('kudu-master', [
      '--webserver_interface=127.0.0.1',
      `--webserver_port=${web}`,
      `--fs_wal_dir=${join(dir, 'master')}`,
      `--rpc_bind_addresses=${address}`,
      '--default_num_replicas=1',
    ]);
    start('kudu-tserver', [
      '--webserver_enabled=false',
      `--fs_wal_dir=${join(dir, 'tserver')}`,
      `--rpc_bind_addresses=127.0.0.1:${tsRpc}`,
      `--tserver_master_addrs=${address}`,
    ]);
    // A master with encryption disabled (the later flag wins over --rpc_encryption=required; Kudu
    // refuses to start with encryption disabled and authentication required).
    plainAddress = `127.0.0.1:${await freePort()}`;
    start('kudu-master', [
      '--webserver_enabled=false',
      `--fs_wal_dir=${join(dir, 'plain-master')}`,
      `--rpc_bind_addresses=${plainAddress}`,
      '--rpc_encryption=disabled',
      '--rpc_authentication=disabled',
    ]);
    for (let got = await caOf(web); ; got = await caOf(web)) {
      if (got !== undefined) {
        ca = got;
        break;
      }
      for (const s of servers) expect(s.exitCode).toBeNull();
      await sleep(250);
    }
    const shared = await caOf(ports.kuduMasterWeb);
    if (shared === undefined) throw new Error(`the shared cluster's master serves no CA on ${ports.kuduMasterWeb}`);
    sharedCa = shared;
  }, 90_000);

  afterAll(async () => {
    for (const s of servers.reverse()) {
      if (s.exitCode === null) {
        s.kill('SIGKILL');
        await new Promise((r) => s.once('exit', r));
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('without tls: fails with TRIB_KUDU_TLS_REQUIRED, naming the server', async () => {
    const c = client({});
    const err = await whenUp(servers, () => c.openTable('any')).catch((e: unknown) => e);
    await c.close();
    expect((err as TributaryError).code).toBe('TRIB_KUDU_TLS_REQUIRED');
    expect((err as TributaryError).message).toContain(address);
    expect((err as TributaryError).message).toContain('tls.ca');
  }, 90_000);

  it("with the master's CA: creates a table, writes and scans it through TLS (master and tablet server)", async () => {
    const c = client({ tls: { ca } });
    try {
      const table = await whenUp(servers, () =>
        c.createTable({
          name: 'tls_rows',
          columns: [
            { name: 'id', type: 'int64', key: true },
            { name: 'v', type: 'string' },
          ],
          hashPartitions: [{ columns: ['id'], buckets: 2 }],
        }),
      );
      const rows = Array.from({ length: 50 }, (_, i) => ({ id: BigInt(i), v: `value ${i}` }));
      await whenUp(servers, () => c.upsert(table, rows));
      const read: Record<string, unknown>[] = [];
      for await (const batch of c.scan(table)) read.push(...batch);
      expect(read.sort((a, b) => Number(a['id']) - Number(b['id']))).toEqual(rows);
    } finally {
      await c.close();
    }
  }, 90_000);

  it('a job whose kudu sink has tls.ca (a PEM file) creates its range-partitioned table and writes it', async () => {
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, ca);
    const records = Array.from({ length: 40 }, (_, i) => ({ id: i * 10, v: `r${i}` }));
    const g: GraphSpec = {
      sources: [{ name: 'in', collection: { records } }],
      sinks: [
        {
          name: 'out',
          from: 'in',
          kudu: {
            masters: address,
            tls: { ca: caFile },
            table: 'tls_sink',
            createTable: {
              columns: [
                { name: 'id', type: 'int64', key: true },
                { name: 'v', type: 'string' },
              ],
              replicas: 1,
              rangePartition: { columns: ['id'], ranges: [{ upper: { id: 200 } }, { lower: { id: 200 } }] },
            },
          },
        },
      ],
    };
    const result = await new JobExecutor(validateGraph(g), {
      parallelism: 1,
      logger: silentLogger(),
      jobName: 'kudu-tls-sink',
    }).run();
    expect(result.state).toBe('FINISHED');
    const c = client({ tls: { ca } });
    try {
      const table = await c.openTable('tls_sink');
      expect(await c.tabletIds(table)).toHaveLength(2 * 2);
      const read: Record<string, unknown>[] = [];
      for await (const batch of c.scan(table)) read.push(...batch);
      expect(read.sort((a, b) => Number(a['id']) - Number(b['id']))).toEqual(
        records.map((r) => ({ id: BigInt(r.id), v: r.v })),
      );
    } finally {
      await c.close();
    }
  }, 90_000);

  it('with verify: false: encrypts without checking the certificate', async () => {
    const c = client({ tls: { verify: false } });
    try {
      expect((await whenUp(servers, () => c.openTable('tls_rows'))).name).toBe('tls_rows');
    } finally {
      await c.close();
    }
  }, 90_000);

  it("with another cluster's CA: refuses the server's certificate (TRIB_KUDU_TLS_UNTRUSTED)", async () => {
    const c = client({ tls: { ca: sharedCa } });
    const err = await whenUp(servers, () => c.openTable('tls_rows')).catch((e: unknown) => e);
    await c.close();
    expect((err as TributaryError).code).toBe('TRIB_KUDU_TLS_UNTRUSTED');
    expect((err as TributaryError).message).toContain(address);
  }, 90_000);

  it('with tls, a server whose encryption is disabled is refused (TRIB_KUDU_TLS), not used in the clear', async () => {
    const c = client({ tls: { ca }, masters: [plainAddress] });
    const err = await whenUp(servers, () => c.openTable('any')).catch((e: unknown) => e);
    await c.close();
    expect((err as TributaryError).code).toBe('TRIB_KUDU_TLS');
    expect((err as TributaryError).message).toContain(`${plainAddress} does not offer TLS`);
    // The same server without tls: plaintext, as before.
    const plain = client({ masters: [plainAddress] });
    try {
      const absent = await whenUp(servers, () => plain.openTable('any')).catch((e: unknown) => e);
      expect((absent as TributaryError).code).toBe('TRIB_KUDU_TABLE_NOT_FOUND');
    } finally {
      await plain.close();
    }
  }, 90_000);

  it('on a server whose encryption is optional: a client with tls uses it, so a foreign CA is refused there too', async () => {
    const [shared] = testKuduMasters().split(',');
    const foreign = new KuduClient({ masters: [shared!], operationTimeoutMs: 5_000, tls: { ca } });
    const err = await foreign.openTable('any').catch((e: unknown) => e);
    await foreign.close();
    expect((err as TributaryError).code).toBe('TRIB_KUDU_TLS_UNTRUSTED');
    // Fresh connections, several: each has a first call right behind its connection context,
    // which the server answers only when the context came in a TLS record of its own.
    for (let i = 0; i < 8; i++) {
      const own = new KuduClient({ masters: [shared!], operationTimeoutMs: 5_000, tls: { ca: sharedCa } });
      try {
        const absent = await own.openTable(`tls_absent_${i}`).catch((e: unknown) => e);
        expect((absent as TributaryError).code).toBe('TRIB_KUDU_TABLE_NOT_FOUND');
      } finally {
        await own.close();
      }
    }
  }, 30_000);
});
