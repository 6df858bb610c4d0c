import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startApiserver } from './components/apiserver.ts';
import { startControllerManager } from './components/controller-manager.ts';
import { startEtcd } from './components/etcd.ts';
import { apiserverUrl, host, portOffset, ports } from './ports.ts';
import { addons, buildLogOf, type Addon } from './addons.ts';
import { writeKubeconfig } from './components/kubeconfig.ts';
import { startNodeAgent } from './components/node-agent.ts';
import { ensurePki } from './components/pki.ts';
import { buildImages, removeOrphanContainers, requestedPodRuntime, type PodRuntime } from './pod-runtime.ts';
import { prepare } from './prepare.ts';
import { ClusterError } from './errors.ts';
import { clusterPaths, type ClusterPaths } from './paths.ts';
import { isAlive, stopProcess, type Started } from './process.ts';
import { clearState, readState, writeState, type ClusterState } from './state.ts';
import { ensureTools } from './tools.ts';

export interface UpOptions {
  readonly addons: readonly Addon[];
  readonly log?: (line: string) => void;
  /**
   * Container mode: rebuild the images from the checkout even when they exist (the test
   * setup, so pods run the code under test). A fresh cluster builds them beside its other
   * builds; a running container-mode cluster gets them rebuilt before `up` returns.
   */
  readonly rebuildImages?: boolean;
}

const controlPlane = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'node-agent'];
const componentOrder: readonly string[] = [...controlPlane, ...Object.values(addons).flatMap((a) => a.components)];

/**
 * Brings the cluster up, idempotently: a healthy running cluster is reused (missing addons
 * are added), a half-dead one is stopped and replaced, and a failed start stops what it
 * started so no orphan process survives a red `up`. Either way the client tools (kubectl,
 * helm) are there afterwards.
 */
export async function up(options: UpOptions, paths: ClusterPaths = clusterPaths()): Promise<ClusterState> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  mkdirSync(paths.dir, { recursive: true });
  const podRuntime = requestedPodRuntime();
  let state = readState(paths);
  if (state && state.components.every(isAlive)) {
    await ensureTools();
    if (options.rebuildImages && state.podRuntime === 'podman') await buildImages({ always: true, log });
    const missing = options.addons.filter((a) => !state!.addons.includes(a));
    if (missing.length === 0) {
      log(`cluster already running (${paths.dir}; pods as ${podsAs(state.podRuntime ?? 'process')})`);
      return state;
    }
    return startAddons(paths, state, missing, log);
  }
  if (state) {
    log('found a stale cluster (some components are gone); stopping what is left and starting clean');
    await stopAll(paths, state);
  }
  await wipeData(paths);
  rotateLogs(paths);

  // Everything that can fail slowly (builds, downloads) happens before any process starts.
  await prepare(paths, { addons: options.addons, podRuntime, rebuildImages: options.rebuildImages ?? false, log });
  const pki = await ensurePki(paths.pki, join(paths.logs, 'pki.log'));

  state = { version: 1, startedAt: new Date().toISOString(), addons: [], components: [], podRuntime };
  const started = state.components;
  const track = (p: Started): void => {
    started.push(p);
    writeState(paths, state!);
    log(`  ${p.component} up (pid ${p.pid})`);
  };
  try {
    const t0 = Date.now();
    track(await startEtcd(paths));
    track(await startApiserver(paths, pki));
    writeKubeconfig(paths.kubeconfig, apiserverUrl, pki.caCert, 'admin', pki.adminToken);
    track(await startControllerManager(paths, pki));
    track(await startNodeAgent(paths, pki, podRuntime));
    log(`control plane ready in ${((Date.now() - t0) / 1000).toFixed(1)}s; pods run as ${podsAs(podRuntime)}`);
  } catch (err) {
    await stopAll(paths, state);
    throw err;
  }
  return startAddons(paths, state, options.addons, log);
}

const podsAs = (mode: PodRuntime): string =>
  mode === 'podman' ? 'containers (podman)' : 'local processes (TRIBUTARY_NODE_AGENT_RUNTIME=process)';

async function startAddons(
  paths: ClusterPaths,
  state: ClusterState,
  names: readonly Addon[],
  log: (line: string) => void,
): Promise<ClusterState> {
  const next: ClusterState = { ...state, addons: [...state.addons], components: [...state.components] };
  for (const name of names) {
    const addon = addons[name];
    await addon.prepare(paths, buildLogOf(paths));
    const t0 = Date.now();
    const mine: Started[] = [];
    try {
      await addon.start(paths, (p) => {
        mine.push(p);
        next.components.push(p);
        writeState(paths, next);
        log(`  ${p.component} up (pid ${p.pid})`);
      });
    } catch (err) {
      // Only this addon's processes go: a cluster others are using keeps running.
      for (const p of mine.reverse()) await stopProcess(p);
      next.components.splice(next.components.length - mine.length);
      writeState(paths, next);
      throw err;
    }
    (next.addons as Addon[]).push(name);
    writeState(paths, next);
    log(`${name} ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  }
  return next;
}

/** Stops what the state file names, in reverse start order, then any pod process left behind. */
export async function down(paths: ClusterPaths = clusterPaths()): Promise<void> {
  const state = readState(paths);
  if (state) await stopAll(paths, state);
  await wipeData(paths);
}

async function stopAll(paths: ClusterPaths, state: ClusterState): Promise<void> {
  const ordered = [...state.components].sort(
    (a, b) => componentOrder.indexOf(b.component) - componentOrder.indexOf(a.component),
  );
  for (const p of ordered) {
    // The node agent stops its pods on SIGTERM; give it time for their grace periods.
    await stopProcess(p, p.component === 'node-agent' ? 45_000 : 20_000);
  }
  killPodOrphans(paths);
  if (state.podRuntime === 'podman') await removeOrphanContainers(paths.podsDir);
  clearState(paths);
}

/** A pod process whose agent was SIGKILLed would outlive it; find such processes by their cwd. */
function killPodOrphans(paths: ClusterPaths): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cwd.startsWith(paths.podsDir + '/')) process.kill(Number(entry), 'SIGKILL');
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
}

async function wipeData(paths: ClusterPaths): Promise<void> {
  for (const dir of [
    paths.etcdData,
    paths.kafkaData,
    paths.druidData,
    paths.s3Data,
    paths.kuduData,
    join(paths.dir, 's3-keys.json'),
    join(paths.dir, 'node'),
  ]) {
    rmSync(dir, { recursive: true, force: true });
  }
}

function rotateLogs(paths: ClusterPaths): void {
  const prev = `${paths.logs}.prev`;
  if (existsSync(paths.logs)) {
    rmSync(prev, { recursive: true, force: true });
    renameSync(paths.logs, prev);
  }
  mkdirSync(paths.logs, { recursive: true });
}

export interface ComponentStatus {
  readonly component: string;
  readonly pid: number;
  readonly alive: boolean;
  readonly logFile: string;
}

export function status(paths: ClusterPaths = clusterPaths()): ComponentStatus[] | undefined {
  const state = readState(paths);
  if (!state) return undefined;
  return state.components.map((p) => ({ component: p.component, pid: p.pid, alive: isAlive(p), logFile: p.logFile }));
}

/** Shell `export` lines for a running cluster; the test harness reads the same values. */
export function envOf(paths: ClusterPaths = clusterPaths()): Record<string, string> {
  const state = readState(paths);
  if (!state) {
    throw new ClusterError(
      'CLUSTER_NOT_RUNNING',
      'cluster',
      `no cluster is running in ${paths.dir}; run \`npm run cluster -- up\``,
    );
  }
  const dead = state.components.filter((p) => !isAlive(p));
  if (dead.length > 0) {
    const first = dead[0]!;
    throw new ClusterError('CLUSTER_NOT_RUNNING', first.component, `is not running (pid ${first.pid})`, {
      logFile: first.logFile,
    });
  }
  const env: Record<string, string> = {
    KUBECONFIG: paths.kubeconfig,
    TRIBUTARY_CLUSTER_DIR: paths.dir,
    // For tests that need the real storage to do something on demand (e.g. compaction).
    TRIBUTARY_ETCD_URL: `http://${host}:${ports.etcdClient}`,
    // How its pods run: tests that depend on it (a module path in the image or on the host) read it.
    TRIBUTARY_NODE_AGENT_RUNTIME: state.podRuntime ?? 'process',
    ...(portOffset !== 0 ? { TRIBUTARY_CLUSTER_PORT_OFFSET: String(portOffset) } : {}),
  };
  for (const name of state.addons) Object.assign(env, addons[name].env(paths));
  return env;
}

export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
