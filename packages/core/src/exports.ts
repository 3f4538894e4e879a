/** The public API of @etcdkit/core, shared by its entry points (index.ts for Node, gateway.ts for browsers and edge runtimes). */
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
