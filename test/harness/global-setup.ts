/**
 * Vitest global setup of the `integration` project: one real cluster for the whole run.
 * - With KUBECONFIG and TRIBUTARY_CLUSTER_DIR already set (a developer ran
 *   `eval "$(npm run -s cluster -- env)"`), that cluster is used as is and left running.
 * - With a cluster already running in the default folder, it is reused and left running.
 * - Otherwise one is built/started here (with Kafka) and stopped after the run.
 */
import type { TestProject } from 'vitest/node';
import { down, envOf, status, up } from '../cluster/cluster.ts';
import { clusterPaths } from '../cluster/paths.ts';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env.KUBECONFIG && process.env.TRIBUTARY_CLUSTER_DIR) {
    provide(project, {
      KUBECONFIG: process.env.KUBECONFIG,
      TRIBUTARY_CLUSTER_DIR: process.env.TRIBUTARY_CLUSTER_DIR,
      ...(process.env.TRIBUTARY_KAFKA_BROKERS ? { TRIBUTARY_KAFKA_BROKERS: process.env.TRIBUTARY_KAFKA_BROKERS } : {}),
    });
    return undefined;
  }
  const paths = clusterPaths();
  const wasRunning = status(paths)?.every((c) => c.alive) ?? false;
  const t0 = Date.now();
  await up({ addons: ['kafka'], log: (line) => process.stderr.write(`[cluster] ${line}\n`) }, paths);
  process.stderr.write(`[cluster] ready in ${((Date.now() - t0) / 1000).toFixed(1)}s (${paths.dir})\n`);
  provide(project, envOf(paths));
  if (wasRunning) return undefined;
  return async () => {
    await down(paths);
  };
}

/** Tests read the cluster's coordinates from process.env, as they would from a developer's shell. */
function provide(project: TestProject, env: Record<string, string>): void {
  for (const [k, v] of Object.entries(env)) process.env[k] = v;
  project.provide('clusterEnv', env);
}

declare module 'vitest' {
  export interface ProvidedContext {
    clusterEnv: Record<string, string>;
  }
}
