import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { ClusterError } from '../errors.ts';
import { repoRoot, versions, type ClusterPaths } from '../paths.ts';
import { host, ports } from '../ports.ts';
import {
  assertPortFree,
  isAlive,
  portOpen,
  runToLog,
  startDetached,
  stopProcess,
  waitUntil,
  type Started,
} from '../process.ts';
import { readState, writeState } from '../state.ts';
import {
  commonProperties,
  druidDirs,
  druidJvmArgs,
  druidPort,
  druidServices,
  log4j2Xml,
  serviceProperties,
  zookeeperConfig,
  zookeeperJvmArgs,
  type DruidService,
} from './druid-config.ts';

/** Component names as `status` and `down` know them, in start order. */
export const druidComponents: readonly string[] = ['druid-zookeeper', ...druidServices.map((s) => `druid-${s}`)];

const url = (service: DruidService): string => `http://${host}:${druidPort[service]}`;

/** The Router: SQL (`/druid/v2/sql`) goes to the broker, `/druid/indexer/...` to the coordinator-overlord. */
export const druidUrl = url('router');
export const druidOverlordUrl = url('coordinator');
export const druidBrokerUrl = url('broker');

/** Druid's runtime classpath from Maven Central, copied once per version into the cache. */
export async function ensureDruidJars(paths: ClusterPaths, logFile: string): Promise<void> {
  if (existsSync(join(paths.druidLib, `druid-services-${versions.druid}.jar`))) return;
  mkdirSync(dirname(paths.druidLib), { recursive: true });
  const tmp = `${paths.druidLib}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  await runToLog(
    'druid-download',
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      join(repoRoot, 'test/cluster/druid/pom.xml'),
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${tmp}`,
      `-Ddruid.version=${versions.druid}`,
    ],
    logFile,
  );
  // Renamed only when complete, so an interrupted download is never mistaken for a cache hit.
  rmSync(paths.druidLib, { recursive: true, force: true });
  renameSync(tmp, paths.druidLib);
}

function writeConfig(paths: ClusterPaths): void {
  const dirs = druidDirs(paths);
  // metadata.db is Derby's to create: an existing directory there makes Derby refuse it.
  for (const [name, dir] of Object.entries(dirs)) if (name !== 'metadata') mkdirSync(dir, { recursive: true });
  mkdirSync(join(dirs.conf, '_common'), { recursive: true });
  writeFileSync(join(dirs.conf, '_common', 'common.runtime.properties'), commonProperties(paths));
  for (const service of druidServices) {
    mkdirSync(join(dirs.conf, service), { recursive: true });
    writeFileSync(join(dirs.conf, service, 'runtime.properties'), serviceProperties(service, paths));
  }
  writeFileSync(join(dirs.conf, 'zoo.cfg'), zookeeperConfig(paths));
  writeFileSync(join(dirs.conf, 'log4j2.xml'), log4j2Xml);
}

/** Generous: five JVMs warming up together on two cores, the broker waiting for its schema. */
const readyTimeoutMs = 240_000;

/**
 * Starts ZooKeeper, then every Druid service at once (they find each other through ZooKeeper
 * and retry until their peers are there), and returns when the cluster can ingest from Kafka
 * and answer SQL. Each process is reported through `started` as soon as it is spawned, so a
 * failed start stops all of them.
 */
export async function startDruid(paths: ClusterPaths, started: (p: Started) => void): Promise<void> {
  for (const port of [ports.druidZookeeper, ports.druidDerby, ...Object.values(druidPort)]) {
    await assertPortFree('druid', port);
  }
  writeConfig(paths);
  const logOf = (name: string): string => join(paths.logs, `${name}.log`);

  const zk = startDetached('druid-zookeeper', 'java', zookeeperJvmArgs(paths), logOf('druid-zookeeper'));
  started(zk);
  await waitUntil(zk, 'accepting connections', () => portOpen(ports.druidZookeeper), 60_000);

  const procs = new Map<DruidService, Started>();
  for (const service of druidServices) {
    const p = startDetached(`druid-${service}`, 'java', druidJvmArgs(service, paths), logOf(`druid-${service}`));
    procs.set(service, p);
    started(p);
  }
  const proc = (s: DruidService): Started => procs.get(s)!;
  const all = [zk, ...procs.values()];
  const deadline = Date.now() + readyTimeoutMs;
  const wait = (p: Started, what: string, check: () => Promise<boolean>): Promise<void> =>
    waitServing(p, all, what, check, deadline);

  for (const service of druidServices) await wait(proc(service), 'healthy (/status/health)', () => healthy(service));
  await wait(proc('historical'), 'seen by the coordinator', coordinatorSeesHistorical);
  await wait(proc('indexer'), 'registered as an Overlord worker', overlordHasWorker);
  await wait(proc('coordinator'), 'serving the supervisor API through the router', supervisorApiAnswers);
  await wait(proc('broker'), 'answering SQL through the router', sqlAnswers);
}

/**
 * Polls `check` until it holds. Each check is attributed to the process whose log explains a
 * failure; any of `watched` exiting meanwhile fails at once, with its own name and log.
 */
async function waitServing(
  p: Started,
  watched: readonly Started[],
  what: string,
  check: () => Promise<boolean>,
  deadline: number,
): Promise<void> {
  let lastError: unknown;
  while (Date.now() < deadline) {
    const dead = watched.find((q) => !isAlive(q));
    if (dead) {
      throw new ClusterError('CLUSTER_START_FAILED', dead.component, `exited before Druid was ready`, {
        logFile: dead.logFile,
      });
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(500);
  }
  throw new ClusterError('CLUSTER_NOT_READY', p.component, `not ${what} after ${readyTimeoutMs / 1000}s`, {
    logFile: p.logFile,
    cause: lastError,
  });
}

async function get(target: string): Promise<{ status: number; body: string }> {
  const res = await request(target, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  return { status: res.statusCode, body: await res.body.text() };
}

async function healthy(service: DruidService): Promise<boolean> {
  const { status, body } = await get(`${url(service)}/status/health`);
  return status === 200 && body.trim() === 'true';
}

async function coordinatorSeesHistorical(): Promise<boolean> {
  const { status, body } = await get(`${druidOverlordUrl}/druid/coordinator/v1/servers?simple`);
  if (status !== 200) return false;
  const servers = JSON.parse(body) as { type?: string }[];
  return servers.some((s) => s.type === 'historical');
}

async function overlordHasWorker(): Promise<boolean> {
  const { status, body } = await get(`${druidOverlordUrl}/druid/indexer/v1/workers`);
  return status === 200 && (JSON.parse(body) as unknown[]).length > 0;
}

async function supervisorApiAnswers(): Promise<boolean> {
  return (await get(`${druidUrl}/druid/indexer/v1/supervisor`)).status === 200;
}

/** SQL answers only once the broker has initialised its schema and can reach a query server. */
export async function sqlAnswers(): Promise<boolean> {
  const res = await request(`${druidUrl}/druid/v2/sql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'SELECT 1 AS ok' }),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const body = await res.body.text();
  return res.statusCode === 200 && body.includes('"ok":1');
}

export function druidEnv(): Record<string, string> {
  return {
    TRIBUTARY_DRUID_URL: druidUrl,
    TRIBUTARY_DRUID_OVERLORD_URL: druidOverlordUrl,
    TRIBUTARY_DRUID_BROKER_URL: druidBrokerUrl,
  };
}

/**
 * A real outage for tests: stops one Druid process of the running cluster (SIGTERM, then
 * SIGKILL after the grace). `startDruidService` brings it back. The cluster's state file
 * keeps naming the process, so `down` and `status` stay right either way.
 */
export async function stopDruidService(paths: ClusterPaths, service: DruidService): Promise<void> {
  const p = readState(paths)?.components.find((c) => c.component === `druid-${service}`);
  if (!p)
    throw new ClusterError(
      'CLUSTER_NOT_READY',
      `druid-${service}`,
      'not part of the running cluster (is the druid addon up?)',
    );
  await stopProcess(p, 10_000);
}

/**
 * Starts a Druid process stopped by `stopDruidService` again and waits until it serves (the router: the supervisor API
 * and SQL answer through it).
 */
export async function startDruidService(paths: ClusterPaths, service: DruidService): Promise<void> {
  const state = readState(paths);
  const i = state?.components.findIndex((c) => c.component === `druid-${service}`) ?? -1;
  if (!state || i < 0)
    throw new ClusterError(
      'CLUSTER_NOT_READY',
      `druid-${service}`,
      'not part of the running cluster (is the druid addon up?)',
    );
  const old = state.components[i] as Started;
  if (isAlive(old)) return;
  await assertPortFree(`druid-${service}`, druidPort[service]);
  const p = startDetached(`druid-${service}`, 'java', druidJvmArgs(service, paths), old.logFile);
  state.components[i] = p;
  writeState(paths, state);
  const serving = async (): Promise<boolean> =>
    (await healthy(service)) && (service !== 'router' || ((await supervisorApiAnswers()) && (await sqlAnswers())));
  await waitServing(p, [p], 'serving again after its restart', serving, Date.now() + readyTimeoutMs);
}
