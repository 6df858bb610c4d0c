// A real Kudu master that requires encrypted connections (--rpc_encryption=required), started
// here from the local cluster's Kudu build (TRIBUTARY_KUDU_HOME) on a free loopback port: the
// client, which does not implement TLS yet, must say so with its own code instead of failing
// in some other way.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../../errors.ts';
import { KuduClient } from './kudu-client.ts';

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

describe('Kudu client against a master that requires TLS', () => {
  const home = process.env.TRIBUTARY_KUDU_HOME;
  if (!home)
    throw new Error('TRIBUTARY_KUDU_HOME is not set: start the local cluster with --with kudu and eval its env');
  const dir = mkdtempSync(join(tmpdir(), 'kudu-tls-'));
  let master: ChildProcess;
  let address: string;

  beforeAll(async () => {
    const port = await freePort();
    address = `127.0.0.1:${port}`;
    // Cloud probes go to the cluster's closed loopback port, as in the cluster's own Kudu.
    const noCloud = `http://127.0.0.1:${17055 + Number(process.env.TRIBUTARY_CLUSTER_PORT_OFFSET ?? 0)}/`;
    master = spawn(
      join(home, 'bin', 'kudu-master'),
      [
        '--logtostderr',
        '--time_source=system_unsync',
        '--unlock_unsafe_flags',
        '--enable_minidumps=false',
        '--webserver_enabled=false',
        '--rpc_encryption=required',
        `--fs_wal_dir=${join(dir, 'master')}`,
        `--rpc_bind_addresses=${address}`,
        ...['aws_instance_id', 'azure_instance_id', 'gce_instance_id', 'openstack_metadata'].map(
          (f) => `--cloud_${f}_url=${noCloud}`,
        ),
      ],
      {
        env: { ...process.env, LD_LIBRARY_PATH: join(home, 'lib'), SASL_PATH: join(home, 'lib', 'sasl2') },
        stdio: 'ignore',
      },
    );
  });

  afterAll(async () => {
    if (master.exitCode === null) {
      master.kill('SIGKILL');
      await new Promise((r) => master.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails with TRIB_KUDU_TLS_REQUIRED, naming the server', async () => {
    let err: unknown;
    // Until the master listens the answer is TRIB_KUDU_CONNECT; poll past that.
    for (let i = 0; i < 240; i++) {
      const client = new KuduClient({ masters: [address], operationTimeoutMs: 1_000, connectTimeoutMs: 500 });
      err = await client.openTable('any').catch((e: unknown) => e);
      await client.close();
      if (!(err instanceof TributaryError) || err.code !== 'TRIB_KUDU_CONNECT') break;
      expect(master.exitCode).toBeNull();
      await sleep(250);
    }
    expect((err as TributaryError).code).toBe('TRIB_KUDU_TLS_REQUIRED');
    expect((err as TributaryError).message).toContain(address);
  }, 90_000);
});
