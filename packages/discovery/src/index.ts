/**
 * Service registration and live discovery on etcd: {@link register} keeps an instance under a
 * session, {@link discover} follows the live list of instances, and {@link registerEtcdResolver}
 * lets grpc-js channels balance over them (`etcd:///<service>`). Keys and values use the layout of
 * etcd's Go `naming/endpoints` package.
 *
 * @module @etcdkit/discovery
 */

export { type DiscoveryMessage, discoveryChannel } from './diagnostics.js';
export type { DiscoverOptions, DiscoveryEvents, PickStrategy } from './discovery.js';
export { Discovery, discover } from './discovery.js';
export { RegistrationClosedError } from './errors.js';
export { DRAINING_KEY, decodeEndpoint, encodeEndpoint, type Instance, type Metadata } from './format.js';
export { type EtcdResolverOptions, registerEtcdResolver } from './grpc-resolver.js';
export type {
  RegisterOptions,
  RegistrationEvents,
  RegistrationState,
  ReregisteredEvent,
} from './registration.js';
export { Registration, register } from './registration.js';
