/**
 * The etcd v3 client under every etcdkit primitive, for Node.js with both transports (gRPC, the
 * default, and etcd's HTTP/JSON gateway; the browser/edge entry `@etcdkit/core/gateway` carries
 * the gateway alone): {@link Etcd} (one connection with failover,
 * KV, transactions, STM, leases, sessions, watches on one shared stream, cluster, maintenance and
 * auth calls) and the {@link EtcdError} hierarchy every etcdkit package throws.
 *
 * @example
 * ```ts
 * import { Etcd, compare, op } from '@etcdkit/core';
 *
 * const etcd = new Etcd({ endpoints: ['127.0.0.1:2379'] });
 * await etcd.put('config/db/url', 'postgres://db:5432/app');
 * const kv = await etcd.get('config/db/url'); // KeyValue | undefined
 * const { succeeded } = await etcd
 *   .txn()
 *   .if(compare.version('jobs/nightly', '==', 0)) // the key does not exist
 *   .then(op.put('jobs/nightly', 'claimed'))
 *   .commit();
 * await etcd.close();
 * ```
 *
 * @module @etcdkit/core
 */
import './internal/grpc-transport.js';
import './internal/gateway-transport.js';

export * from './exports.js';
