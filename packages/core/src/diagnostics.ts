import { type Channel, channel, type TracingChannel, tracingChannel } from 'node:diagnostics_channel';
import type { DialTimeoutError, EtcdError } from './errors.js';

/**
 * The names of etcdkit's `node:diagnostics_channel` channels. Subscribe with
 * `diagnostics_channel.subscribe(DIAGNOSTICS_CHANNELS.lock, fn)`; `@etcdkit/otel` turns them into
 * OpenTelemetry metrics and spans. Nothing is built or published while a channel has no
 * subscriber. Payloads are the `*Message` types below; they are stable (fields are only added).
 */
export const DIAGNOSTICS_CHANNELS = {
  /** A TracingChannel: `tracing:etcdkit:rpc:start|end|asyncStart|asyncEnd|error`, context RpcMessage. */
  rpc: 'etcdkit:rpc',
  connection: 'etcdkit:connection',
  session: 'etcdkit:session',
  watch: 'etcdkit:watch',
  lock: 'etcdkit:lock',
  election: 'etcdkit:election',
  config: 'etcdkit:config',
  /** Published by @etcdkit/discovery; its payloads are documented there. */
  discovery: 'etcdkit:discovery',
} as const;

/**
 * The context of one unary call on 'etcdkit:rpc', retries included (one span per call). The
 * same object goes through start, asyncStart/asyncEnd and error; `attempt` and `endpoint` are
 * updated as the call moves on, `result` or `error` is set when it settles.
 */
export interface RpcMessage {
  /** Fully qualified gRPC service, e.g. `etcdserverpb.KV`. */
  service: string;
  /** e.g. `Range`. */
  method: string;
  /** The endpoint of the last attempt (as configured, e.g. `127.0.0.1:2379`). */
  endpoint: string;
  /** Attempts made so far (1 + retries). */
  attempt: number;
  /** The key (or range start) the call is about, where there is one, with the client's namespace. */
  key?: Buffer;
  /** Whether the call is safe to repeat (reads, revokes). */
  idempotent: boolean;
  /** Set when the call settled. */
  outcome?: 'ok' | 'error';
  result?: unknown;
  error?: unknown;
}

/** 'etcdkit:connection': the client's link to the cluster, and every retry with backoff. */
export type ConnectionMessage =
  | { type: 'connected'; endpoint: string }
  | { type: 'disconnected'; endpoint: string; error: EtcdError }
  /** Calls move from `from` to `to`, because of `reason` (the failure that made `from` bad). */
  | { type: 'failover'; from: string; to: string; reason: EtcdError | undefined }
  /** No endpoint became ready within dialTimeoutMs. */
  | { type: 'dial-timeout'; operation: string; endpoints: readonly string[]; error: DialTimeoutError }
  /** A failed attempt will be made again after `delayMs` (the one backoff policy). */
  | { type: 'retry'; operation: string; attempt: number; delayMs: number; error: unknown };

/** 'etcdkit:session': sessions (leases kept alive for locks and elections). */
export type SessionMessage =
  | { type: 'granted'; lease: bigint; ttl: number }
  /** A keepalive answered; `remainingMs` to the local deadline at which the lease counts as lost. */
  | { type: 'keepalive'; lease: bigint; ttl: number; remainingMs: number }
  /** The session ended without close(): `error` says why (local deadline, expired on etcd, client closed). */
  | { type: 'lost'; lease: bigint; error: Error }
  /** close() revoked the session's lease. */
  | { type: 'revoked'; lease: bigint };

/** 'etcdkit:watch': watches on the client's shared stream. `watch` numbers watches within the process. */
export type WatchMessage =
  | { type: 'created'; watch: number; key: Buffer; revision: bigint }
  /** Re-created on a new stream (after a disconnect or a back-pressure pause) from `revision`. */
  | { type: 'resumed'; watch: number; key: Buffer; revision: bigint }
  /** The revisions it needed were compacted: the watch ends with a CompactedError. */
  | { type: 'compacted'; watch: number; key: Buffer; compactRevision: bigint }
  /** Back-pressure: paused on the server while `queued` events wait for the consumer, or resumed. */
  | { type: 'paused'; watch: number; key: Buffer; queued: number }
  | { type: 'unpaused'; watch: number; key: Buffer; queued: number }
  /**
   * How far the consumer is behind what arrived: in revisions, and ms since the oldest batch it
   * has not taken yet arrived. Published when a batch arrives and when the consumer takes one.
   */
  | { type: 'lag'; watch: number; key: Buffer; revisions: bigint; ms: number; queued: number }
  | { type: 'ended'; watch: number; key: Buffer; error: Error | undefined };

/** What a lock is: `kind` is 'mutex', 'read', 'write' (RWMutex) or 'semaphore'; `name` as given. */
export interface LockSubject {
  kind: string;
  name: string;
  /** The waiter/holder key (relative to the session's client). */
  key: string;
  lease: bigint;
}

/** 'etcdkit:lock': Mutex, RWMutex and Semaphore (and lockAll/withLock(s), made of them). */
export type LockMessage =
  | ({ type: 'wait' } & LockSubject)
  | ({ type: 'acquired'; fencingToken: bigint; waitMs: number } & LockSubject)
  /** The acquire ended without the lock: timeout, abort, session lost, error; `busy` for a tryLock that found it taken. */
  | ({ type: 'failed'; waitMs: number; error: Error | undefined; busy: boolean } & LockSubject)
  | ({ type: 'released'; fencingToken: bigint; holdMs: number } & LockSubject)
  /** Ownership ended without unlock(): `error` says why (session lost, key deleted, unfollowable). */
  | ({ type: 'lost'; fencingToken: bigint; holdMs: number; error: Error } & LockSubject);

/** A leader as observed: the candidate key with the lowest create revision. */
export interface LeaderInfo {
  key: Buffer;
  value: Buffer;
  createRevision: bigint;
  lease: bigint;
}

/** 'etcdkit:election': candidates of this process, and leader changes seen by leader-runners. */
export type ElectionMessage =
  | { type: 'campaign'; name: string; key: string; lease: bigint }
  | { type: 'elected'; name: string; key: string; lease: bigint; createRevision: bigint; waitMs: number }
  | { type: 'campaign-failed'; name: string; key: string; lease: bigint; waitMs: number; error: Error }
  | { type: 'resigned'; name: string; key: string; lease: bigint; leadMs: number }
  /** Leadership ended without resign(): session lost, key deleted. */
  | { type: 'lost'; name: string; key: string; lease: bigint; leadMs: number; error: Error }
  /** The leader changed (`leader` undefined: there is none). Published by leader-runners. */
  | { type: 'leader'; name: string; leader: LeaderInfo | undefined; previous: LeaderInfo | undefined };

/** 'etcdkit:config': config-sync mirrors. `prefix` is the mirrored prefix (UTF-8). */
export type ConfigMessage =
  /** The first listing is loaded: `keys` values at `revision`. */
  | { type: 'synced'; prefix: string; revision: bigint; keys: number }
  /** One revision's changes were applied (a new snapshot). */
  | { type: 'applied'; prefix: string; revision: bigint; changes: number }
  | { type: 'invalid'; prefix: string; key: string; revision: bigint; reason: string }
  /** Serving the last-known-good file or initial values: etcd was unreachable at start. */
  | { type: 'stale'; prefix: string; error: Error | undefined }
  /** Listed again after a compaction ('compacted') or when etcd came back ('recovered'). */
  | {
      type: 'relisted';
      prefix: string;
      revision: bigint;
      reason: 'compacted' | 'recovered';
      puts: number;
      deletes: number;
    }
  | { type: 'status'; prefix: string; status: string; previous: string }
  | { type: 'closed'; prefix: string };

/** A channel whose messages have one type. */
export interface TypedChannel<T> {
  readonly hasSubscribers: boolean;
  publish(message: T): void;
}

/** The channels etcdkit publishes on (for etcdkit's packages: check `hasSubscribers` before building a message). */
export const diagnostics = {
  rpc: tracingChannel(DIAGNOSTICS_CHANNELS.rpc) as TracingChannel<object, RpcMessage & object>,
  connection: channel(DIAGNOSTICS_CHANNELS.connection) as Channel & TypedChannel<ConnectionMessage>,
  session: channel(DIAGNOSTICS_CHANNELS.session) as Channel & TypedChannel<SessionMessage>,
  watch: channel(DIAGNOSTICS_CHANNELS.watch) as Channel & TypedChannel<WatchMessage>,
  lock: channel(DIAGNOSTICS_CHANNELS.lock) as Channel & TypedChannel<LockMessage>,
  election: channel(DIAGNOSTICS_CHANNELS.election) as Channel & TypedChannel<ElectionMessage>,
  config: channel(DIAGNOSTICS_CHANNELS.config) as Channel & TypedChannel<ConfigMessage>,
};
