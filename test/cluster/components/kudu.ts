// Apache Kudu in the local cluster (`up --with kudu`): one master and three tablet servers from
// Maven Central's kudu-binary jar (the binaries Kudu's own Java tests run), unpacked once per
// version into the cache, data under the cluster folder, every port on loopback. Tests can stop
// a tablet server or the master for real and start it again (stopKuduTserver / startKuduTserver,
// stopKuduMaster / startKuduMaster) and freeze a tablet server (signalKuduTserver).
import { execFile, spawn } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ClusterError } from '../errors.ts';
import { cacheRoot, versions, type ClusterPaths } from '../paths.ts';
import { host, ports } from '../ports.ts';
import {
  assertPortFree,
  isAlive,
  killProcess,
  runToLog,
  startDetached,
  stopProcess,
  waitUntil,
  type Started,
} from '../process.ts';
import { readState, writeState, type ClusterState } from '../state.ts';

const jarName = `kudu-binary-${versions.kudu}-linux-x86_64.jar`;
const jarUrl = `https://repo1.maven.org/maven2/org/apache/kudu/kudu-binary/${versions.kudu}/${jarName}`;

export const kuduMasters = `${host}:${ports.kuduMaster}`;

/**
 * Three tablet servers, always: Kudu's default replication factor (3) then places a table's
 * tablets as in production, and a tablet keeps a Raft majority while one server restarts, which
 * the restart tests rely on. Each idle server costs about 50 MB of RSS, not worth a knob that
 * would leave those tests without a cluster to run on.
 */
export const kuduTserverCount = ports.kuduTservers.length;
export const kuduTserverName = (i: number): string => `kudu-tserver-${i}`;
export const kuduTserverAddress = (i: number): string => `${host}:${ports.kuduTservers[i]}`;
export const kuduComponents = [
  'kudu-master',
  ...Array.from({ length: kuduTserverCount }, (_, i) => kuduTserverName(i)),
];

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
 * startup never probes metadata addresses outside the machine. Memory is capped small (each
 * server's RSS stays far below it: about 50 MB idle), since four servers share the machine.
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

function startTserver(paths: ClusterPaths, i: number, logFile: string): Started {
  const dir = join(paths.kuduData, `tserver-${i}`);
  mkdirSync(dir, { recursive: true });
  return startDetached(
    kuduTserverName(i),
    kuduBin(paths, 'kudu-tserver'),
    [
      ...commonFlags(),
      `--fs_wal_dir=${dir}`,
      `--rpc_bind_addresses=${kuduTserverAddress(i)}`,
      `--webserver_port=${ports.kuduTserverWebs[i]}`,
      `--tserver_master_addrs=${kuduMasters}`,
    ],
    logFile,
    { env: kuduEnv(paths) },
  );
}

function startMaster(paths: ClusterPaths, logFile: string): Started {
  const masterDir = join(paths.kuduData, 'master');
  mkdirSync(masterDir, { recursive: true });
  return startDetached(
    'kudu-master',
    kuduBin(paths, 'kudu-master'),
    [
      ...commonFlags(),
      `--fs_wal_dir=${masterDir}`,
      `--rpc_bind_addresses=${kuduMasters}`,
      `--webserver_port=${ports.kuduMasterWeb}`,
      // Kudu's own default, spelled out: a table placed on every tablet server survives one restarting.
      `--default_num_replicas=${kuduTserverCount}`,
    ],
    logFile,
    { env: kuduEnv(paths) },
  );
}

export async function startKudu(paths: ClusterPaths, started: (p: Started) => void): Promise<void> {
  for (const port of [
    ports.kuduMaster,
    ports.kuduMasterWeb,
    ...ports.kuduTservers,
    ...ports.kuduTserverWebs,
    ports.kuduNoCloud,
  ]) {
    await assertPortFree('kudu', port);
  }
  const master = startMaster(paths, join(paths.logs, 'kudu-master.log'));
  started(master);
  const tservers: Started[] = [];
  for (let i = 0; i < kuduTserverCount; i++) {
    const t = startTserver(paths, i, join(paths.logs, `${kuduTserverName(i)}.log`));
    tservers.push(t);
    started(t);
  }
  await waitUntil([master, ...tservers], 'healthy in ksck (every tablet server registered)', () => ksck(paths), 60_000);
}

/**
 * `kudu cluster ksck`: the master answers, every tablet server is registered and healthy, and so
 * is every tablet (exit 0): a tablet still catching up after a restart makes it fail.
 */
export function ksck(paths: ClusterPaths): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(
      kuduBin(paths, 'kudu'),
      ['cluster', 'ksck', kuduMasters],
      { env: kuduEnv(paths), timeout: 20_000 },
      (err, stdout) =>
        resolve(
          err === null &&
            new RegExp(`Version Summary[\\s\\S]*all ${1 + kuduTserverCount} server\\(s\\) checked`).test(stdout),
        ),
    );
  });
}

function tserverOfState(paths: ClusterPaths, i: number): { state: ClusterState; index: number } {
  return componentOfState(paths, kuduTserverName(i));
}

function componentOfState(paths: ClusterPaths, component: string): { state: ClusterState; index: number } {
  const state = readState(paths);
  const index = state?.components.findIndex((c) => c.component === component) ?? -1;
  if (!state || index < 0) {
    throw new ClusterError(
      'CLUSTER_NOT_READY',
      component,
      `not part of the running cluster (is the kudu addon up? its tablet servers are 0..${kuduTserverCount - 1})`,
    );
  }
  return { state, index };
}

/**
 * Stops the master of the running cluster for real (SIGKILL: a crash; SIGTERM: a clean stop,
 * SIGKILL after 10 s) and resolves when the process is gone; `startKuduMaster` brings it back.
 * The tablet servers keep running (and serving writes to tablets whose leaders clients know).
 */
export async function stopKuduMaster(paths: ClusterPaths, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
  const { state, index } = componentOfState(paths, 'kudu-master');
  const p = state.components[index]!;
  if (signal === 'SIGKILL') await killProcess(p);
  else await stopProcess(p, 10_000);
}

/**
 * Starts the master (stopped by `stopKuduMaster`) again on its own data folder and ports and
 * resolves once ksck is healthy (every tablet server registered again). Nothing to start when
 * it runs (safe in a test's `finally`). Flags set at runtime (`setKuduMasterFlag`) are gone.
 */
export async function startKuduMaster(paths: ClusterPaths): Promise<void> {
  const { state, index } = componentOfState(paths, 'kudu-master');
  let p = state.components[index]!;
  if (!isAlive(p)) {
    await assertPortFree(p.component, ports.kuduMaster);
    p = startMaster(paths, p.logFile);
    state.components[index] = p;
    writeState(paths, state);
  }
  await waitUntil(p, 'healthy after its restart', () => ksck(paths), 120_000);
}

/**
 * SIGSTOP (hung: its socket accepts connections, nothing answers) or SIGCONT the master.
 * A test that freezes it thaws it in its `finally`/`afterAll`.
 */
export function signalKuduMaster(paths: ClusterPaths, signal: 'SIGSTOP' | 'SIGCONT'): void {
  const { state, index } = componentOfState(paths, 'kudu-master');
  const p = state.components[index]!;
  if (!isAlive(p)) throw new ClusterError('CLUSTER_NOT_RUNNING', 'kudu-master', `cannot ${signal} a stopped master`);
  signalSettled(p.pid, signal);
}

/**
 * Sends `signal`; a SIGSTOP returns only once every thread of the process has stopped (at most 2 s).
 * kill(2) returns when the signal is queued: a thread running on another core can still answer a
 * request sent right after it, so a test that froze a server and then asked it could get an answer.
 */
function signalSettled(pid: number, signal: 'SIGSTOP' | 'SIGCONT'): void {
  process.kill(pid, signal);
  if (signal !== 'SIGSTOP') return;
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline && !everyThreadStopped(pid));
}

/** Every thread of `pid` in state T or t (/proc); true where /proc cannot say (not Linux, gone). */
function everyThreadStopped(pid: number): boolean {
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const state = stat.charAt(stat.lastIndexOf(')') + 2);
      if (state !== 'T' && state !== 't') return false;
    }
    return true;
  } catch {
    return true;
  }
}

/**
 * SIGSTOP (hung: its sockets accept connections, nothing answers) or SIGCONT tablet server `i`.
 * A test that freezes one thaws it in its `finally`.
 */
export function signalKuduTserver(paths: ClusterPaths, i: number, signal: 'SIGSTOP' | 'SIGCONT'): void {
  const { state, index } = tserverOfState(paths, i);
  const p = state.components[index]!;
  if (!isAlive(p)) {
    throw new ClusterError('CLUSTER_NOT_RUNNING', kuduTserverName(i), `cannot ${signal} a stopped tablet server`);
  }
  signalSettled(p.pid, signal);
}

/**
 * Sets a runtime flag of the master (`kudu master set_flag`, `force` for one Kudu does not tag
 * `runtime`), e.g. `table_locations_ttl_ms`; lasts until the master restarts.
 */
export function setKuduMasterFlag(
  paths: ClusterPaths,
  flag: string,
  value: string,
  o: { force?: boolean } = {},
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    execFile(
      kuduBin(paths, 'kudu'),
      ['master', 'set_flag', ...(o.force ? ['--force'] : []), kuduMasters, flag, value],
      { env: kuduEnv(paths), timeout: 20_000 },
      (err, _stdout, stderr) =>
        err
          ? reject(
              new ClusterError('CLUSTER_NOT_READY', 'kudu-master', `set_flag ${flag}=${value}: ${stderr.trim()}`, {
                cause: err,
              }),
            )
          : resolve(),
    );
  });
}

/**
 * Stops tablet server `i` of the running cluster for real: SIGKILL (a crash: nothing flushed,
 * no word to the master or its Raft peers) or SIGTERM (a clean stop; SIGKILL after 10 s).
 * Resolves when the process is gone. The state file keeps naming it, so `status` shows it
 * STOPPED and `down` stays right; `startKuduTserver` brings it back.
 */
export async function stopKuduTserver(
  paths: ClusterPaths,
  i: number,
  signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL',
): Promise<void> {
  const { state, index } = tserverOfState(paths, i);
  const p = state.components[index]!;
  if (signal === 'SIGKILL') await killProcess(p);
  else await stopProcess(p, 10_000);
}

/**
 * Starts tablet server `i` (stopped by `stopKuduTserver`) again on its own data folder and
 * ports, and resolves once ksck is healthy: the server registered and every tablet replica
 * caught up with its leader.
 */
export async function startKuduTserver(paths: ClusterPaths, i: number): Promise<void> {
  const { state, index } = tserverOfState(paths, i);
  let p = state.components[index]!;
  if (!isAlive(p)) {
    await assertPortFree(p.component, ports.kuduTservers[i]!);
    p = startTserver(paths, i, p.logFile);
    state.components[index] = p;
    writeState(paths, state);
  }
  await waitUntil(p, 'healthy after its restart', () => ksck(paths), 120_000);
}

/**
 * Sets a runtime flag of every running tablet server (`kudu tserver set_flag`), e.g. Kudu's own
 * fault injection `tablet_inject_latency_on_apply_write_op_ms` to make writes slow for real. Lasts
 * until set again or the server restarts: a test sets it back when it ends. `force` sets a flag Kudu
 * does not tag `runtime` (e.g. `scanner_inject_latency_on_each_batch_ms`, read on every batch all the same).
 */
export async function setKuduTserverFlag(
  paths: ClusterPaths,
  flag: string,
  value: string,
  o: { force?: boolean } = {},
): Promise<void> {
  for (let i = 0; i < kuduTserverCount; i++) {
    await new Promise<void>((resolve, reject) => {
      execFile(
        kuduBin(paths, 'kudu'),
        ['tserver', 'set_flag', ...(o.force ? ['--force'] : []), kuduTserverAddress(i), flag, value],
        { env: kuduEnv(paths), timeout: 20_000 },
        (err, _stdout, stderr) =>
          err
            ? reject(
                new ClusterError(
                  'CLUSTER_NOT_READY',
                  kuduTserverName(i),
                  `set_flag ${flag}=${value}: ${stderr.trim()}`,
                  {
                    cause: err,
                  },
                ),
              )
            : resolve(),
      );
    });
  }
}

/**
 * Runs the cluster's `kudu` CLI (e.g. `table scan`), handing each line of its output to `onLine` as
 * it comes (a whole table's scan does not fit a buffer); fails with its stderr on a non-zero exit.
 */
export async function kuduCliLines(paths: ClusterPaths, args: string[], onLine: (line: string) => void): Promise<void> {
  const p = spawn(kuduBin(paths, 'kudu'), args, { env: kuduEnv(paths), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<number | null>((resolve, reject) => {
    p.once('error', reject);
    p.once('close', resolve);
  });
  for await (const line of createInterface({ input: p.stdout, crlfDelay: Infinity })) onLine(line);
  const code = await exited;
  if (code !== 0)
    throw new ClusterError(
      'CLUSTER_NOT_READY',
      'kudu',
      `kudu ${args.slice(0, 2).join(' ')} exited ${code}: ${stderr.trim()}`,
    );
}

export function kuduEnvLines(paths: ClusterPaths): Record<string, string> {
  return {
    TRIBUTARY_KUDU_MASTERS: kuduMasters,
    // Where each tablet server listens, in index order (stopKuduTserver's `i`).
    TRIBUTARY_KUDU_TSERVERS: Array.from({ length: kuduTserverCount }, (_, i) => kuduTserverAddress(i)).join(','),
    // The CLI of the same build (`kudu table scan`, `kudu perf loadgen`) needs its libraries.
    TRIBUTARY_KUDU_HOME: paths.kuduHome,
  };
}
