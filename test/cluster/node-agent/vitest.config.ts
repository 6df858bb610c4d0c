// Runs the node agent's unit tests on their own (`npx vitest run -c test/cluster/node-agent/vitest.config.ts`)
// until the root config's `unit` project includes test/cluster/**/*.test.ts.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['*.test.ts'],
    exclude: ['*.int.test.ts'],
    testTimeout: 20_000,
  },
});
