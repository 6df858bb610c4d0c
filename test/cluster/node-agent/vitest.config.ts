// Runs the node agent's unit tests on their own (`npx vitest run -c test/cluster/node-agent/vitest.config.ts`)
// until the root config's `unit` project includes test/cluster/**/*.test.ts.
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: resolve(import.meta.dirname, '../../..'),
    include: ['test/cluster/node-agent/*.test.ts'],
    exclude: ['**/*.int.test.ts', 'node_modules/**'],
    testTimeout: 20_000,
  },
});
