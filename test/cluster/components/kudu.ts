// Apache Kudu in the local cluster (`up --with kudu`): one master and one tablet server from
// Maven Central's kudu-binary jar (the binaries Kudu's own Java tests run), unpacked once per
// version into the cache, data under the cluster folder, every port on loopback.
import { execFile } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ClusterError } from '../errors.ts';
import { cacheRoot, versions, type ClusterPaths } from '../paths.ts';
import { host, ports } from '../ports.ts';
import { assertPortFree, runToLog, startDetached, waitUntil, type Started } from '../process.ts';

const jarName = `kudu-binary-${versions.kudu}-linux-x86_64.jar`;
const jarUrl = `https://repo1.maven.org/maven2/org/apache/kudu/kudu-binary/${versions.kudu}/${jarName}`;

export const kuduMasters = `${host}:${ports.kuduMaster}`;
export const kuduComponents = ['kudu-master', 'kudu-tserver'];

function kuduBin(paths: ClusterPaths, name: string): string {
  return join(paths.kuduHome, 'bin', name);
}

/**
 * The jar's own libraries and SASL plugins (PLAIN among them), so the processes need nothing
 * from the machine's libsasl2-modules: SASL_PATH points at the bundled plugins only.
 */
function kuduEnv(paths: ClusterPaths): NodeJS.ProcessEnv {
  return {
    ...process.env,
    LD_LIBRARY_PATH: join(paths.kuduHome, 'lib'),
    SASL_PATH: join(paths.kuduHome, 'lib', 'sasl2'),
  };
}

export async function ensureKuduBinaries(paths: ClusterPaths, buildLog: string): Promise<void> {
  if (existsSync(kuduBin(paths, 'kudu-tserver'))) return;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new ClusterError(
      'CLUSTER_MISSING_TOOL',
      'kudu',
      `kudu-binary is built for linux-x86_64 only, not ${process.platform}-${process.arch}`,
    );
  }
  mkdirSync(cacheRoot(), { recursive: true });
  // A private folder renamed into place: an interrupted download never looks complete.
  const tmp = mkdtempSync(join(cacheRoot(), `.kudu-${versions.kudu}-`));
  try {
    process.stderr.write(`downloading ${jarUrl} (once, 32 MB)\n`);
    const jar = join(tmp, jarName);
    const res = await fetch(jarUrl, { signal: AbortSignal.timeout(600_000) }).catch((err: unknown) => {
      throw new ClusterError('CLUSTER_DOWNLOAD_FAILED', 'kudu', `cannot fetch ${jarUrl}`, { cause: err });
    });
    if (!res.ok || !res.body) {
      throw new ClusterError('CLUSTER_DOWNLOAD_FAILED', 'kudu', `GET ${jarUrl} answered ${res.status}`);
    }
    await pipeline(Readable.fromWeb(res.body), createWriteStream(jar));
    await unpack(jar, join(tmp, 'x'), buildLog);
    const unpacked = join(tmp, 'x', `kudu-binary-${versions.kudu}-linux-x86_64`);
    for (const name of ['kudu', 'kudu-master', 'kudu-tserver']) {
      // Zip entries carry no execute bit.
      await runToLog('kudu-download', 'chmod', ['0755', join(unpacked, 'bin', name)], buildLog);
    }
    rmSync(paths.kuduHome, { recursive: true, force: true });
    renameSync(unpacked, paths.kuduHome);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** `unzip` where the machine has it, else the JDK's `jar` (the Kafka and Druid addons need a JDK anyway). */
async function unpack(jar: string, into: string, buildLog: string): Promise<void> {
  mkdirSync(into, { recursive: true });
  try {
    await runToLog('kudu-download', 'unzip', ['-q', '-o', jar, '-d', into], buildLog);
  } catch (err) {
    if (!(err instanceof ClusterError) || err.code !== 'CLUSTER_MISSING_TOOL') throw err;
    await runToLog('kudu-download', 'jar', ['xf', jar], buildLog, { cwd: into }).catch((jarErr: unknown) => {
      throw new ClusterError(
        'CLUSTER_MISSING_TOOL',
        'kudu',
        'neither `unzip` nor a JDK `jar` is installed (apt-get install unzip)',
        { cause: jarErr },
      );
    });
  }
}

/**
 * Flags both daemons take. The system clock unsynchronised is fine on one machine (NTP is
 * not required); the cloud-detection URLs point at a loopback port nobody listens on, so
 * startup never probes metadata addresses outside the machine.
 */
function commonFlags(): string[] {
  const noCloud = `http://${host}:${ports.kuduNoCloud}/`;
  return [
    '--logtostderr',
    '--time_source=system_unsync',
    '--unlock_unsafe_flags',
    '--enable_minidumps=false',
    '--memory_limit_hard_bytes=536870912',
    '--block_cache_capacity_mb=32',
    `--webserver_interface=${host}`,
    `--cloud_aws_instance_id_url=${noCloud}`,
    `--cloud_azure_instance_id_url=${noCloud}`,
    `--cloud_gce_instance_id_url=${noCloud}`,
    `--cloud_openstack_metadata_url=${noCloud}`,
  ];
}

export async function startKudu(paths: ClusterPaths, started: (p: Started) => void): Promise<void> {
  for (const port of [
    ports.kuduMaster,
    ports.kuduTserver,
    ports.kuduMasterWeb,
    ports.kuduTserverWeb,
    ports.kuduNoCloud,
  ]) {
    await assertPortFree('kudu', port);
  }
  const masterDir = join(paths.kuduData, 'master');
  const tserverDir = join(paths.kuduData, 'tserver-0');
  mkdirSync(masterDir, { recursive: true });
  mkdirSync(tserverDir, { recursive: true });
  const env = { env: kuduEnv(paths) };
  const master = startDetached(
    'kudu-master',
    kuduBin(paths, 'kudu-master'),
    [
      ...commonFlags(),
      `--fs_wal_dir=${masterDir}`,
      `--rpc_bind_addresses=${kuduMasters}`,
      `--webserver_port=${ports.kuduMasterWeb}`,
      '--default_num_replicas=1',
    ],
    join(paths.logs, 'kudu-master.log'),
    env,
  );
  started(master);
  const tserver = startDetached(
    'kudu-tserver',
    kuduBin(paths, 'kudu-tserver'),
    [
      ...commonFlags(),
      `--fs_wal_dir=${tserverDir}`,
      `--rpc_bind_addresses=${host}:${ports.kuduTserver}`,
      `--webserver_port=${ports.kuduTserverWeb}`,
      `--tserver_master_addrs=${kuduMasters}`,
    ],
    join(paths.logs, 'kudu-tserver.log'),
    env,
  );
  started(tserver);
  await waitUntil(master, 'answering ksck', () => ksck(paths), 60_000);
  await waitUntil(tserver, 'registered with the master', () => ksck(paths), 60_000);
}

/** `kudu cluster ksck`: the master answers and every tablet server it knows is healthy (exit 0). */
export function ksck(paths: ClusterPaths): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(
      kuduBin(paths, 'kudu'),
      ['cluster', 'ksck', kuduMasters],
      { env: kuduEnv(paths), timeout: 20_000 },
      (err, stdout) => resolve(err === null && /Version Summary[\s\S]*all 2 server\(s\) checked/.test(stdout)),
    );
  });
}

export function kuduEnvLines(paths: ClusterPaths): Record<string, string> {
  return {
    TRIBUTARY_KUDU_MASTERS: kuduMasters,
    // The CLI of the same build (`kudu table scan`, `kudu perf loadgen`) needs its libraries.
    TRIBUTARY_KUDU_HOME: paths.kuduHome,
  };
}
