import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources of the workspace packages, not their builds.
    conditions: ['etcdkit-source'],
  },
  // Tests run in Vite's server environment, which takes its own conditions (Vite's defaults plus ours).
  ssr: { resolve: { conditions: ['etcdkit-source', 'module', 'node', 'development|production'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each test file starts its own etcd; two cores do not gain from more workers.
    maxWorkers: 2,
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});
