// A Kudu cluster of its own for a test (1 master, N tablet servers on free loopback ports, from the
// local cluster's Kudu build, TRIBUTARY_KUDU_HOME): for tests that kill tablet servers or need
// server flags the shared cluster must not get. Every process is the test's own, killed at stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterError } from '../../../test/cluster/errors.ts';
import { TributaryError } from '../errors.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export class OwnKudu {
  readonly master: string;
  /** Tablet servers by RPC port. */
  readonly tservers = new Map<number, ChildProcess>();
  private readonly master_: ChildProcess;
  private readonly dir: string;

  private constructor(dir: string, master: string, proc: ChildProcess) {
    this.dir = dir;
    this.master = master;
    this.master_ = proc;
  }

  /** Starts the master and `tservers` tablet servers, each with `tserverFlags` too. */
  static async start(tservers: number, tserverFlags: readonly string[]): Promise<OwnKudu> {
    const home = process.env.TRIBUTARY_KUDU_HOME;
    if (!home)
      throw new ClusterError(
        'CLUSTER_NOT_RUNNING',
        'kudu',
        'TRIBUTARY_KUDU_HOME is not set: start the local cluster with --with kudu and eval its env',
      );
    const dir = mkdtempSync(join(tmpdir(), 'own-kudu-'));
    // Cloud probes go to the cluster's closed loopback port, as in the cluster's own Kudu.
    const noCloud = `http://127.0.0.1:${17055 + Number(process.env.TRIBUTARY_CLUSTER_PORT_OFFSET ?? 0)}/`;
    const common = [
      '--logtostderr',
      '--time_source=system_unsync',
      '--unlock_unsafe_flags',
      '--unlock_experimental_flags',
      '--enable_minidumps=false',
      '--webserver_enabled=false',
      '--memory_limit_hard_bytes=268435456',
      '--block_cache_capacity_mb=16',
      // Elections within a second of a leader dying.
      '--raft_heartbeat_interval_ms=100',
      ...['aws_instance_id', 'azure_instance_id', 'gce_instance_id', 'openstack_metadata'].map(
        (f) => `--cloud_${f}_url=${noCloud}`,
      ),
    ];
    const env = { ...process.env, LD_LIBRARY_PATH: join(home, 'lib'), SASL_PATH: join(home, 'lib', 'sasl2') };
    const run = (bin: string, args: string[]) =>
      spawn(join(home, 'bin', bin), [...common, ...args], { env, stdio: 'ignore' });
    const master = `127.0.0.1:${await freePort()}`;
    const own = new OwnKudu(
      dir,
      master,
      run('kudu-master', [`--fs_wal_dir=${join(dir, 'master')}`, `--rpc_bind_addresses=${master}`]),
    );
    for (let i = 0; i < tservers; i++) {
      const port = await freePort();
      own.tservers.set(
        port,
        run('kudu-tserver', [
          `--fs_wal_dir=${join(dir, `tserver-${i}`)}`,
          `--rpc_bind_addresses=127.0.0.1:${port}`,
          `--tserver_master_addrs=${master}`,
          ...tserverFlags,
        ]),
      );
    }
    return own;
  }

  /** SIGKILLs the tablet server at this RPC port and waits for it to exit. */
  async kill(port: number): Promise<void> {
    const p = this.tservers.get(port);
    if (!p) throw new TributaryError('TRIB_INVARIANT', `no tablet server of this test at port ${port}`);
    if (p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
    }
  }

  async stop(): Promise<void> {
    for (const port of this.tservers.keys()) await this.kill(port);
    const m = this.master_;
    if (m.exitCode === null && m.signalCode === null) {
      const exited = new Promise((r) => m.once('exit', r));
      m.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
