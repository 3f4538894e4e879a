import { defineConfig } from 'vitest/config';

/**
 * The files that run a second time over etcd's HTTP/JSON gateway (the `gateway` project): the
 * core KV, txn, lease and watch tests, failover on a cluster, and the public contract. Their
 * clients take the transport from ETCDKIT_TRANSPORT, the default of `transport`.
 */
const overGateway = [
  'packages/core/test/kv.test.ts',
  'packages/core/test/scan.test.ts',
  'packages/core/test/txn.test.ts',
  'packages/core/test/lease.test.ts',
  'packages/core/test/lease-limits.test.ts',
  'packages/core/test/watch.test.ts',
  'packages/core/test/watch-compaction.test.ts',
  'packages/core/test/watch-stream.test.ts',
  'packages/core/test/cluster.test.ts',
  'packages/core/test/connection.test.ts',
  'packages/core/test/auth.test.ts',
  'packages/core/test/maintenance.test.ts',
  'packages/core/test/coordination.test.ts',
  'packages/core/test/cleanup.test.ts',
  'examples/test/contract.test.ts',
  'examples/test/contract-stm-recipes.test.ts',
];

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources of the workspace packages, not their builds.
    conditions: ['etcdkit-source'],
  },
  // Tests run in Vite's server environment, which takes its own conditions (Vite's defaults plus ours).
  ssr: { resolve: { conditions: ['etcdkit-source', 'module', 'node', 'development|production'] } },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each test file starts its own etcd; two cores do not gain from more workers.
    maxWorkers: 2,
    reporters: ['default', './scripts/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'grpc',
          include: ['packages/*/test/**/*.test.ts', 'examples/test/**/*.test.ts'],
          env: { ETCDKIT_TRANSPORT: 'grpc' },
        },
      },
      {
        extends: true,
        test: { name: 'gateway', include: overGateway, env: { ETCDKIT_TRANSPORT: 'gateway' } },
      },
    ],
  },
});
