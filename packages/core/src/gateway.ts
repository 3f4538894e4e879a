/**
 * @etcdkit/core for browsers, Bun, Deno and edge runtimes: the gateway transport alone (etcd's
 * HTTP/JSON gateway over fetch), without grpc-js or any node: module in its import graph. The
 * API is the one of the Node entry; `transport` defaults to 'gateway' here.
 */
import './internal/buffer-global.js';
import './internal/gateway-transport.js';

export * from './exports.js';
