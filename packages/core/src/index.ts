/**
 * The etcd v3 client under every etcdkit primitive: {@link Etcd} (one connection with failover,
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

export type { Permission, PermissionType } from './auth.js';
export { AuthApi } from './auth.js';
export type { Member } from './cluster.js';
export { ClusterApi } from './cluster.js';
export type {
  ConfigMessage,
  ConnectionMessage,
  ElectionMessage,
  LeaderInfo,
  LockMessage,
  LockSubject,
  RpcMessage,
  SessionMessage,
  WatchMessage,
} from './diagnostics.js';
export { DIAGNOSTICS_CHANNELS } from './diagnostics.js';
export {
  AbortError,
  AuthFailedError,
  ClientClosedError,
  CompactedError,
  DeadlineExceededError,
  type DeadlineReason,
  type DialAttempt,
  DialTimeoutError,
  ETCD_ERROR_CODES,
  EtcdError,
  type EtcdErrorCode,
  FutureRevisionError,
  InvalidArgumentError,
  InvalidTokenError,
  InvalidTxnError,
  type InvalidTxnReason,
  LeaseExpiredError,
  LeaseNotFoundError,
  PermissionDeniedError,
  RequestTooLargeError,
  ResourceExhaustedError,
  type ResourceExhaustedReason,
  SessionExpiredError,
  UnavailableError,
  UnknownEtcdError,
  WatchCanceledError,
} from './errors.js';
export type { EtcdEvents, EtcdHealth, GetOptions, HealthOptions, LeaseApi, ScanOptions } from './etcd.js';
export { Etcd } from './etcd.js';
export type { Bytes } from './internal/bytes.js';
export type { CallOptions } from './internal/connection.js';
export type { KeySelector } from './internal/keyspace.js';
export type { Logger } from './internal/log.js';
export type { Observer, Subscription } from './internal/observable.js';
export { symbolObservable } from './internal/observable.js';
export type {
  DeleteOptions,
  DeleteResult,
  DeleteTarget,
  KeyValue,
  PutOptions,
  PutResult,
  RangeOptions,
  RangeResult,
  Revision,
  SortOrder,
  SortTarget,
} from './kv.js';
export type { GrantOptions, LeaseEvents, LeaseTimeToLive } from './lease.js';
export { Lease } from './lease.js';
export type { Alarm, AlarmType, EndpointHealth, EndpointStatus, TargetOptions } from './maintenance.js';
export { MaintenanceApi } from './maintenance.js';
export type { EtcdOptions, ResolvedOptions, TlsOptions } from './options.js';
export { defaults } from './options.js';
export type { SessionOptions } from './session.js';
export { Session } from './session.js';
export type { StmEntry, StmIsolation, StmOptions, StmRange, StmTx } from './stm.js';
export { StmConflictError } from './stm.js';
export type { Compare, CompareOp, Op, OpResponse, TxnBranches, TxnResult } from './txn.js';
export { compare, op, Txn } from './txn.js';
export type { WatchBatch, WatchEvent, WatcherEvents, WatchOptions } from './watch.js';
export { Watcher } from './watch.js';
