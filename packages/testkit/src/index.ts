/**
 * Real etcd for tests, benchmarks and demos: {@link startEtcd} starts one server and
 * {@link startCluster} an n-member cluster on free loopback ports (kill, stop, restart, pause of
 * members, optional TLS), {@link startTcpProxy} simulates network failures, {@link etcdctl} runs
 * the real `etcdctl`. Never a mock.
 *
 * @module @etcdkit/testkit
 */

// @etcdkit/testkit: real etcd servers and clusters for tests, benchmarks and demos.

export type { BinaryLookup } from './binaries.js';
export { findEtcd, findEtcdctl } from './binaries.js';
export { trackedPids } from './children.js';
export { ETCD_IMAGE } from './container.js';
export type { DockerProbe } from './docker.js';
export { probeDocker, resetDockerProbe } from './docker.js';
export {
  EtcdNotFoundError,
  EtcdStartError,
  PortInUseError,
  TestkitError,
  UncontrollableServerError,
} from './errors.js';
export type { EtcdCluster, EtcdMember, StartClusterOptions } from './etcd-cluster.js';
export { startCluster } from './etcd-cluster.js';
export type { EtcdServer, RestartOptions, StartEtcdOptions, TlsOptions } from './etcd-server.js';
export { DEFAULT_START_TIMEOUT_MS, startEtcd } from './etcd-server.js';
export type { EtcdctlOptions, EtcdctlResult, EtcdctlTls, SpawnedEtcdctl } from './etcdctl.js';
export { etcdctl, spawnEtcdctl } from './etcdctl.js';
export { freePort, freePorts } from './free-port.js';
export type { TcpProxy } from './tcp-proxy.js';
export { startTcpProxy } from './tcp-proxy.js';
export type { ClientTls, TlsBundle, TlsBundleOptions } from './tls.js';
export { createTlsBundle } from './tls.js';
