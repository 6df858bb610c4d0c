// Two projects: `unit` needs no infrastructure and runs everywhere in seconds;
// `integration` talks to the real local cluster (kube-apiserver, etcd, controller-manager,
// Kafka, node agent) that its global setup brings up once, or reuses when its env is set.
// Integration files run one at a time per lane; each lane has its own cluster
// (TRIBUTARY_TEST_LANES, test/harness/lane-count.ts), so a file still owns the cluster it runs on.
import { defineConfig } from 'vitest/config';
import { testLanes } from './test/harness/lane-count.ts';

const lanes = testLanes();

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['operator/**/*.test.ts', 'runtime/**/*.test.ts', 'test/**/*.test.ts', 'lint/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', 'node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts'],
          // The chaos tests (*.chaos.int.test.ts: kill, crash and rescale rounds) are part of it;
          // `npm run test:chaos` runs them alone, TRIBUTARY_CHAOS_ROUNDS lengthens them for soak runs.
          exclude: ['node_modules/**'],
          globalSetup: ['test/harness/global-setup.ts'],
          setupFiles: ['test/harness/setup-env.ts'],
          testTimeout: 180_000,
          hookTimeout: 600_000,
          fileParallelism: lanes > 1,
          maxWorkers: lanes,
          // Its own group, after the unit project: a group's projects must share maxWorkers.
          sequence: { groupOrder: 1 },
          pool: 'forks',
        },
      },
    ],
  },
});
