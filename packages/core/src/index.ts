/**
 * @etcdkit/core for Node.js: both transports, gRPC (the default) and etcd's HTTP/JSON gateway.
 * The browser/edge entry (gateway.ts) carries the gateway alone.
 */
import './internal/grpc-transport.js';
import './internal/gateway-transport.js';

export * from './exports.js';
