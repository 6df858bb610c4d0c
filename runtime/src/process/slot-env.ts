// Reads a slot process's environment (the operator ↔ runtime contract, control/contract.ts)
// and its JobConfig file. In-container paths resolve against TRIBUTARY_POD_ROOT when set (the
// local node agent runs containers as processes whose volumes live under that root).
//
// Local-only variables (never set by the operator; used by `tributary run --distributed`):
//   TRIBUTARY_PEERS         explicit data-plane addresses host:port,… (instead of the selector)
//   TRIBUTARY_DATA_PORT     data-plane port (default contract DATA_PORT)
//   TRIBUTARY_CONTROL_PORT  control API port (default contract CONTROL_PORT)
//   TRIBUTARY_METRICS_PORT  metrics port (default contract METRICS_PORT)
//   TRIBUTARY_DRAIN_ON_STOP 1: a stop (SIGTERM, a thread's stop message) fires every pending
//                           event-time window before the final checkpoint (`run --drain`)
//
// TRIBUTARY_CONTROL_TOKEN_FILE is required: the control API and the data plane are
// authenticated by the job's secret it holds (the operator mounts one per job; `tributary run
// --distributed` writes one per run).
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import {
  CONTRACT_VERSION,
  CONTROL_PORT,
  DATA_PORT,
  METRICS_PORT,
  RuntimeEnv,
  type JobConfig,
} from '../control/contract.ts';
import { TributaryError } from '../errors.ts';
import { parsePeerList } from './peer-discovery.ts';

export const LocalEnv = {
  peers: 'TRIBUTARY_PEERS',
  dataPort: 'TRIBUTARY_DATA_PORT',
  controlPort: 'TRIBUTARY_CONTROL_PORT',
  metricsPort: 'TRIBUTARY_METRICS_PORT',
  podRoot: 'TRIBUTARY_POD_ROOT',
  drainOnStop: 'TRIBUTARY_DRAIN_ON_STOP',
} as const;

export interface SlotEnv {
  slot: number;
  parallelism: number;
  maxParallelism: number | undefined;
  jobConfigFile: string;
  podIp: string;
  podName: string | undefined;
  namespace: string | undefined;
  deploymentId: string;
  peerSelector: string | undefined;
  peers: string[] | undefined;
  controlTokenFile: string;
  podRoot: string | undefined;
  dataPort: number;
  controlPort: number;
  metricsPort: number;
  /** A stop fires every pending event-time window first (local runs only: a pod never drains on SIGTERM). */
  drainOnStop: boolean;
  /** Started to join a running job: the live rescale's membership generation (TRIBUTARY_JOIN). */
  joinGeneration: number | undefined;
}

type Env = Record<string, string | undefined>;

function bad(msg: string): TributaryError {
  return new TributaryError('TRIB_PEER_CONFIG', msg);
}

function int(env: Env, name: string, min: number, fallback?: number): number {
  const v = env[name];
  if (v === undefined || v === '') {
    if (fallback !== undefined) return fallback;
    throw bad(`environment variable ${name} is required`);
  }
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw bad(`${name}=${JSON.stringify(v)}: expected an integer ≥ ${min}`);
  return n;
}

/** An in-container path, resolved against the pod root when there is one. */
export function containerPath(path: string, podRoot: string | undefined): string {
  return podRoot && isAbsolute(path) ? join(podRoot, path) : path;
}

export function readSlotEnv(env: Env): SlotEnv {
  const podRoot = env[LocalEnv.podRoot] || undefined;
  const parallelism = int(env, RuntimeEnv.parallelism, 1);
  const slot = int(env, RuntimeEnv.slot, 0);
  if (slot >= parallelism)
    throw bad(`${RuntimeEnv.slot}=${slot} is not below ${RuntimeEnv.parallelism}=${parallelism}`);
  const maxP = env[RuntimeEnv.maxParallelism] ? int(env, RuntimeEnv.maxParallelism, parallelism) : undefined;
  const jobConfig = env[RuntimeEnv.jobConfigFile];
  if (!jobConfig) throw bad(`environment variable ${RuntimeEnv.jobConfigFile} is required`);
  const deploymentId = env[RuntimeEnv.deploymentId];
  if (!deploymentId) throw bad(`environment variable ${RuntimeEnv.deploymentId} is required`);
  const peers = env[LocalEnv.peers] ? parsePeerList(env[LocalEnv.peers] as string) : undefined;
  const peerSelector = env[RuntimeEnv.peerSelector] || undefined;
  if (parallelism > 1 && !peers && !peerSelector)
    throw bad(`parallelism ${parallelism} needs ${RuntimeEnv.peerSelector} (Kubernetes) or ${LocalEnv.peers} (local)`);
  const podIp = env[RuntimeEnv.podIp] || (peers ? '127.0.0.1' : undefined);
  if (!podIp) throw bad(`environment variable ${RuntimeEnv.podIp} is required (downward API status.podIP)`);
  const tokenFile = env[RuntimeEnv.controlTokenFile];
  if (!tokenFile)
    throw bad(
      `environment variable ${RuntimeEnv.controlTokenFile} is required: the control API and the data plane are authenticated by the job's secret in that file`,
    );
  const drain = env[LocalEnv.drainOnStop];
  if (drain !== undefined && drain !== '' && drain !== '0' && drain !== '1')
    throw bad(`${LocalEnv.drainOnStop}=${JSON.stringify(drain)}: expected 1 or 0`);
  const joinGeneration = env[RuntimeEnv.join] ? int(env, RuntimeEnv.join, 1) : undefined;
  // Checked again by the slot (join-link.ts checkJoin); said here in the environment's terms.
  if (joinGeneration !== undefined && (slot === 0 || maxP === undefined))
    throw bad(
      `${RuntimeEnv.join} set: a joining slot needs ${RuntimeEnv.slot} above 0 and ${RuntimeEnv.maxParallelism}`,
    );
  return {
    joinGeneration,
    slot,
    parallelism,
    maxParallelism: maxP,
    jobConfigFile: containerPath(jobConfig, podRoot),
    podIp,
    podName: env[RuntimeEnv.podName] || undefined,
    namespace: env[RuntimeEnv.namespace] || undefined,
    deploymentId,
    peerSelector,
    peers,
    controlTokenFile: containerPath(tokenFile, podRoot),
    podRoot,
    dataPort: int(env, LocalEnv.dataPort, 0, DATA_PORT),
    controlPort: int(env, LocalEnv.controlPort, 0, CONTROL_PORT),
    metricsPort: int(env, LocalEnv.metricsPort, 0, METRICS_PORT),
    drainOnStop: drain === '1',
  };
}

export function readJobConfig(file: string, env: SlotEnv): JobConfig {
  let cfg: JobConfig;
  try {
    cfg = JSON.parse(readFileSync(file, 'utf8')) as JobConfig;
  } catch (e) {
    throw bad(`cannot read the job config ${file}: ${(e as Error).message}`);
  }
  if (typeof cfg !== 'object' || cfg === null) throw bad(`job config ${file} is not a JSON object`);
  if (cfg.contractVersion !== CONTRACT_VERSION)
    throw bad(
      `job config ${file} has contractVersion ${String(cfg.contractVersion)}, this runtime speaks ${CONTRACT_VERSION}`,
    );
  // A joining slot's ConfigMap is the deployment's, written at its start: its parallelism is the start's.
  if (cfg.parallelism !== env.parallelism && env.joinGeneration === undefined)
    throw bad(
      `job config parallelism ${String(cfg.parallelism)} differs from ${RuntimeEnv.parallelism}=${env.parallelism}`,
    );
  const hasGraph = cfg.graph !== undefined && cfg.graph !== null;
  if (cfg.module !== undefined && (typeof cfg.module !== 'string' || cfg.module === ''))
    throw bad(`job config ${file}: module must be a non-empty path, got ${JSON.stringify(cfg.module)}`);
  // Neither: the graph's validation names the missing graph.
  if (hasGraph && cfg.module !== undefined)
    throw bad(`job config ${file}: has both graph and module (the job module of application mode); expected one`);
  // An unknown retention must not be read as Delete (that would delete what the user asked to keep).
  if (cfg.retention !== undefined && cfg.retention !== 'Delete' && cfg.retention !== 'Retain')
    throw bad(`job config ${file}: retention must be Delete or Retain, got ${JSON.stringify(cfg.retention)}`);
  const backend = stateBackendProblem(cfg.stateBackend);
  if (backend !== undefined) throw bad(`job config ${file}: stateBackend ${backend}`);
  return cfg;
}

/** What is wrong with a job config's stateBackend (an unknown kind must not run as the heap). */
function stateBackendProblem(sb: JobConfig['stateBackend'] | null): string | undefined {
  if (sb === undefined) return undefined;
  if (typeof sb !== 'object' || sb === null) return `must be an object, got ${JSON.stringify(sb)}`;
  if (sb.kind !== 'heap' && sb.kind !== 'disk') return `kind must be heap or disk, got ${JSON.stringify(sb.kind)}`;
  if (sb.dir !== undefined && (typeof sb.dir !== 'string' || sb.dir === ''))
    return `dir must be a non-empty path, got ${JSON.stringify(sb.dir)}`;
  if (sb.cacheEntries !== undefined && !(Number.isInteger(sb.cacheEntries) && sb.cacheEntries >= 1))
    return `cacheEntries must be a positive integer, got ${JSON.stringify(sb.cacheEntries)}`;
  return undefined;
}

/**
 * A joining slot's (TRIBUTARY_JOIN) view of the deployment's JobConfig: the parallelism is TRIBUTARY_PARALLELISM's
 * (the job's once it joined) and it restores nothing — its state arrives by the rescale's steps, and a restore would
 * commit transactions the running slots own (join-link.ts checkJoin). `ignored` names the restore fields it
 * dropped. Any other slot's config is returned as is.
 */
export function joiningJobConfig(cfg: JobConfig, env: SlotEnv): { cfg: JobConfig; ignored: string[] } {
  if (env.joinGeneration === undefined) return { cfg, ignored: [] };
  const { restoreFrom, restoreLatest, ...rest } = cfg;
  const ignored = [
    ...(restoreFrom !== undefined ? ['restoreFrom'] : []),
    ...(restoreLatest !== undefined ? ['restoreLatest'] : []),
  ];
  return { cfg: { ...rest, parallelism: env.parallelism }, ignored };
}

/** TRIBUTARY_RESCALE_BUDGET_BYTES as a whole number of bytes ≥ 1; undefined when unset or empty. */
export function rescaleBudgetBytes(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new TributaryError('TRIB_CLI_USAGE', `TRIBUTARY_RESCALE_BUDGET_BYTES: expected an integer ≥ 1, got "${raw}"`);
  return n;
}
