/**
 * Vitest global setup of the `integration` project: one real cluster for the whole run.
 * - With KUBECONFIG and TRIBUTARY_CLUSTER_DIR already set (a developer ran
 *   `eval "$(npm run -s cluster -- env)"`), that cluster is used as is and left running.
 * - With a cluster already running in the default folder, it is reused and left running.
 * - Otherwise one is built/started here and stopped after the run.
 * Pods run as containers of the images `npm run image` builds (rebuilt here from the checkout
 * first) unless the cluster runs them as processes (TRIBUTARY_NODE_AGENT_RUNTIME=process when
 * it started): see test/cluster/pod-runtime.ts.
 * The addons started are those the suites need (TRIBUTARY_CLUSTER_ADDONS, comma-separated,
 * overrides the default).
 * With TRIBUTARY_TEST_LANES=N (lane-count.ts) the files run in N lanes, one cluster each: lane 1
 * is the cluster above, lanes 2..N are started beside it once lane 1 has built and downloaded
 * everything (lanes.ts), and setup-env.ts points each worker at its lane's cluster.
 */
import type { TestProject } from 'vitest/node';
import { down, envOf, status, up } from '../cluster/cluster.ts';
import { waitForCoordinators } from '../cluster/components/kafka-coordinators.ts';
import { clusterPaths } from '../cluster/paths.ts';
import { buildImages, requestedPodRuntime } from '../cluster/pod-runtime.ts';
import { readState } from '../cluster/state.ts';
import { testLanes } from './lane-count.ts';
import { requestedAddons } from './test-addons.ts';
import { startLane, stopLane, type ExtraLane } from './lanes.ts';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const log = (line: string) => process.stderr.write(`[cluster] ${line}\n`);
  if (process.env.KUBECONFIG && process.env.TRIBUTARY_CLUSTER_DIR) {
    const env: Record<string, string> = { KUBECONFIG: process.env.KUBECONFIG };
    for (const [k, v] of Object.entries(process.env)) if (k.startsWith('TRIBUTARY_') && v) env[k] = v;
    // `cluster env` exports the cluster's mode; a cluster from before it ran processes.
    if ((env.TRIBUTARY_NODE_AGENT_RUNTIME ?? 'process') === 'podman') await rebuildImages(log);
    if (env.TRIBUTARY_KAFKA_BROKERS) await waitForCoordinators(env.TRIBUTARY_KAFKA_BROKERS, 90_000);
    provide(project, [env]);
    return undefined;
  }
  const paths = clusterPaths();
  const running = readState(paths);
  const wasRunning = (running && status(paths)?.every((c) => c.alive)) ?? false;
  const mode = wasRunning ? (running?.podRuntime ?? 'process') : requestedPodRuntime();
  if (mode === 'podman' && wasRunning) await rebuildImages(log);
  const t0 = Date.now();
  const addons = requestedAddons();
  // A fresh cluster rebuilds the images beside its other builds and downloads (prepare.ts).
  await up({ addons, log, rebuildImages: mode === 'podman' && !wasRunning }, paths);
  // Lane 1's `up` did every build and download: the other lanes' `up` only start processes.
  const extra: ExtraLane[] = [];
  const stopExtra = () => Promise.all(extra.filter((l) => l.started).map((l) => stopLane(l, paths.dir, mode)));
  try {
    const lanes = testLanes();
    const started = await Promise.allSettled(
      Array.from({ length: lanes - 1 }, (_, i) => startLane(i + 2, paths.dir, addons, mode, log)),
    );
    for (const r of started) if (r.status === 'fulfilled') extra.push(r.value);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const envs = [envOf(paths), ...extra.map((l) => l.env)];
    envs[0]!.TRIBUTARY_CLUSTER_PORT_OFFSET = process.env.TRIBUTARY_CLUSTER_PORT_OFFSET ?? '0';
    // A reused broker was started by whichever checkout ran `up`: its coordinators are checked here too.
    for (const env of envs)
      if (env.TRIBUTARY_KAFKA_BROKERS) await waitForCoordinators(env.TRIBUTARY_KAFKA_BROKERS, 90_000);
    process.stderr.write(
      `[cluster] ready in ${((Date.now() - t0) / 1000).toFixed(1)}s (${paths.dir}, ${lanes} lane(s))\n`,
    );
    provide(project, envs);
  } catch (err) {
    await stopExtra();
    if (!wasRunning) await down(paths);
    throw err;
  }
  if (wasRunning && extra.every((l) => !l.started)) return undefined;
  return async () => {
    await Promise.all([stopExtra(), wasRunning ? undefined : down(paths)]);
  };
}

/**
 * Container-mode pods run the images, not the checkout: build them from the checkout first,
 * every run, so the tests exercise the code under test (~20 s when only our layers change).
 */
async function rebuildImages(log: (line: string) => void): Promise<void> {
  const t0 = Date.now();
  log('pods run as containers: building the images from this checkout (npm run image)');
  await buildImages({ always: true, log });
  log(`images built in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}

/**
 * Tests read the cluster's coordinates from process.env, as they would from a developer's shell:
 * this process gets lane 1's, each worker its own lane's (setup-env.ts).
 */
function provide(project: TestProject, lanes: Record<string, string>[]): void {
  for (const [k, v] of Object.entries(lanes[0]!)) process.env[k] = v;
  project.provide('clusterLanes', lanes);
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** One env per lane, lane 1 first (VITEST_POOL_ID n runs on lane n). */
    clusterLanes: Record<string, string>[];
  }
}
