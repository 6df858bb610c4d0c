/**
 * The integration project's extra lanes (lane 2 and up): each a whole local cluster of its own,
 * started as a child `cluster up` because test/cluster/ports.ts fixes its port offset when it
 * is loaded, so one process cannot start two clusters at different offsets. Lane i (i ≥ 2)
 * lives in `<lane 1's folder>-lane<i>` at port offset LANE_OFFSET_BASE + 1000·(i−2): 8000 and
 * up, clear of the offset 1000 cluster-lifecycle.int.test.ts starts beside its lane's cluster.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Addon } from '../cluster/addons.ts';
import { ClusterError } from '../cluster/errors.ts';

export const LANE_OFFSET_BASE = 8000;

const cli = fileURLToPath(new URL('../cluster/cli.ts', import.meta.url));

export interface ExtraLane {
  readonly lane: number;
  readonly dir: string;
  readonly offset: number;
  /** What `cluster env` printed: the lane's coordinates, as lane 1's envOf gives them. */
  readonly env: Record<string, string>;
  /** Whether this run started it (and so stops it); a lane already running is reused as lane 1 is. */
  readonly started: boolean;
}

/** The environment a `cluster` command for lane `lane` runs in: none of lane 1's coordinates. */
function childEnv(lane: number, lane1Dir: string, podRuntime: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'KUBECONFIG' || (k.startsWith('TRIBUTARY_') && k !== 'TRIBUTARY_CACHE_DIR')) continue;
    env[k] = v;
  }
  env.TRIBUTARY_CLUSTER_DIR = `${lane1Dir}-lane${lane}`;
  env.TRIBUTARY_CLUSTER_PORT_OFFSET = String(LANE_OFFSET_BASE + 1000 * (lane - 2));
  env.TRIBUTARY_NODE_AGENT_RUNTIME = podRuntime;
  return env;
}

function runCli(args: string[], env: NodeJS.ProcessEnv, lane: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', (e) =>
      reject(
        new ClusterError('CLUSTER_START_FAILED', `lane ${lane}`, `cluster ${args[0]}: ${e.message}`, { cause: e }),
      ),
    );
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else {
        const last = err.trim().split('\n').slice(-15).join('\n');
        reject(new ClusterError('CLUSTER_START_FAILED', `lane ${lane}`, `cluster ${args[0]} exited ${code}:\n${last}`));
      }
    });
  });
}

/** `export K="v"` lines (values JSON-quoted by cli.ts) → an env; PATH is the caller's business. */
export function parseEnvLines(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z_][A-Z0-9_]*)=(".*")$/.exec(line);
    if (!m || m[1] === 'PATH') continue;
    env[m[1]!] = JSON.parse(m[2]!) as string;
  }
  return env;
}

/** Starts (or reuses) lane `lane` with `addons`; resolves once `cluster up` says it is ready. */
export async function startLane(
  lane: number,
  lane1Dir: string,
  addons: readonly Addon[],
  podRuntime: string,
  log: (line: string) => void,
): Promise<ExtraLane> {
  const env = childEnv(lane, lane1Dir, podRuntime);
  const running = await runCli(['status'], env, lane).then(
    () => true,
    () => false,
  );
  const t0 = Date.now();
  if (!running) await runCli(['up', '--with', addons.join(',')], env, lane);
  const laneEnv = parseEnvLines(await runCli(['env'], env, lane));
  laneEnv.TRIBUTARY_CLUSTER_PORT_OFFSET = env.TRIBUTARY_CLUSTER_PORT_OFFSET!;
  log(
    `lane ${lane}: ${running ? 'reused' : `up in ${((Date.now() - t0) / 1000).toFixed(1)}s`} ` +
      `(${env.TRIBUTARY_CLUSTER_DIR}, port offset ${env.TRIBUTARY_CLUSTER_PORT_OFFSET})`,
  );
  return {
    lane,
    dir: env.TRIBUTARY_CLUSTER_DIR!,
    offset: Number(env.TRIBUTARY_CLUSTER_PORT_OFFSET),
    env: laneEnv,
    started: !running,
  };
}

export async function stopLane(l: ExtraLane, lane1Dir: string, podRuntime: string): Promise<void> {
  await runCli(['down'], childEnv(l.lane, lane1Dir, podRuntime), l.lane);
}
