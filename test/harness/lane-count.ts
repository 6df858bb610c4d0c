/**
 * How many lanes the integration project runs in: each lane is one local cluster, and runs one
 * test file at a time, so a file still owns its cluster (it may stop Kafka, freeze the
 * apiserver, install cluster-scoped objects) while the other lane runs another file beside it.
 * TRIBUTARY_TEST_LANES (1–4, default 1) asks for lanes; a cluster given in the env
 * (KUBECONFIG and TRIBUTARY_CLUSTER_DIR, a developer's) is one cluster, so one lane.
 * Read by vitest.config.ts and the global setup, which must agree.
 */
import { ClusterError } from '../cluster/errors.ts';

export const MAX_TEST_LANES = 4;

export function testLanes(env: NodeJS.ProcessEnv = process.env): number {
  if (env.KUBECONFIG && env.TRIBUTARY_CLUSTER_DIR) return 1;
  const raw = env.TRIBUTARY_TEST_LANES;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_TEST_LANES) {
    throw new ClusterError(
      'CLUSTER_BAD_ARGS',
      'cluster',
      `TRIBUTARY_TEST_LANES must be an integer in [1, ${MAX_TEST_LANES}], got "${raw}"`,
    );
  }
  return n;
}
