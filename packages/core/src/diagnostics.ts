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
  /** The client's link to the cluster and every retry with backoff; payload {@link ConnectionMessage}. */
  connection: 'etcdkit:connection',
  /** Sessions (lease granted, kept alive, lost, revoked); payload {@link SessionMessage}. */
  session: 'etcdkit:session',
  /** Watches (created, resumed, paused, lagging, ended); payload {@link WatchMessage}. */
  watch: 'etcdkit:watch',
  /** Mutex, RWMutex and Semaphore turns (wait, acquired, failed, released, lost); payload {@link LockMessage}. */
  lock: 'etcdkit:lock',
  /** Campaigns of this process and leader changes seen by leader-runners; payload {@link ElectionMessage}. */
  election: 'etcdkit:election',
  /** config-sync mirrors (synced, applied, invalid, relisted, status); payload {@link ConfigMessage}. */
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
  /**
   * The response etcd sent, as decoded from the wire (not the value the etcdkit method returns).
   * Set by the TracingChannel when the call succeeds (asyncStart/asyncEnd).
   */
  result?: unknown;
  /**
   * What the call rejected with, after its last attempt: usually an EtcdError subclass. Set by
   * the TracingChannel when the call fails (error).
   */
  error?: unknown;
}

/** 'etcdkit:connection': the client's link to the cluster, and every retry with backoff. */
export type ConnectionMessage =
  /** A connection to `endpoint` became ready (at start, and after each reconnect). */
  | {
      /** The kind of message: a connection became ready. */
      type: 'connected';
      /** The endpoint now connected, as configured (e.g. `127.0.0.1:2379`). */
      endpoint: string;
    }
  /** The ready connection to `endpoint` was lost; calls go on with retries or a failover. */
  | {
      /** The kind of message: a ready connection was lost. */
      type: 'disconnected';
      /** The endpoint that was connected, as configured. */
      endpoint: string;
      /** Why it was lost (typically an UnavailableError). */
      error: EtcdError;
    }
  /** Calls move from `from` to `to`, because of `reason` (the failure that made `from` bad). */
  | {
      /** The kind of message: calls move to another endpoint. */
      type: 'failover';
      /** The endpoint left, as configured. */
      from: string;
      /** The endpoint calls go to from now on, as configured. */
      to: string;
      /** The error of the last disconnect since the previous failover; undefined when there was none. */
      reason: EtcdError | undefined;
    }
  /** No endpoint became ready within dialTimeoutMs. */
  | {
      /** The kind of message: a call gave up waiting for any endpoint to connect. */
      type: 'dial-timeout';
      /** The call that waited, as `Service.Method` (e.g. `KV.Range`). */
      operation: string;
      /** Every endpoint that was tried, as configured. */
      endpoints: readonly string[];
      /** The error the call rejects with. */
      error: DialTimeoutError;
    }
  /** A failed attempt will be made again after `delayMs` (the one backoff policy). */
  | {
      /** The kind of message: a failed attempt will be retried. */
      type: 'retry';
      /**
       * What is retried, as `Service.Method`: a unary call (e.g. `KV.Put`), or a shared stream
       * being reopened (`Watch.Watch`, `Lease.LeaseKeepAlive`).
       */
      operation: string;
      /** Which failure in a row this is, from 1 (a stream counts from its last success). */
      attempt: number;
      /** The delay before the next attempt, ms (drawn by the backoff policy, full jitter). */
      delayMs: number;
      /** What the failed attempt threw (usually an EtcdError, e.g. UnavailableError). */
      error: unknown;
    };

/** 'etcdkit:session': sessions (leases kept alive for locks and elections). */
export type SessionMessage =
  /** A session was opened: etcd granted its lease. */
  | {
      /** The kind of message: a session's lease was granted. */
      type: 'granted';
      /** The lease id. */
      lease: bigint;
      /** The TTL etcd granted, seconds. */
      ttl: number;
    }
  /** A keepalive answered; `remainingMs` to the local deadline at which the lease counts as lost. */
  | {
      /** The kind of message: a keepalive was answered. */
      type: 'keepalive';
      /** The lease id. */
      lease: bigint;
      /** The TTL etcd answered with, seconds (the lease's life from when the keepalive was sent). */
      ttl: number;
      /** ms left before the local deadline at which the lease counts as lost, after this renewal. */
      remainingMs: number;
    }
  /** The session ended without close(): `error` says why (local deadline, expired on etcd, client closed). */
  | {
      /** The kind of message: the session was lost. */
      type: 'lost';
      /** The lease id. */
      lease: bigint;
      /** Why it ended (e.g. a LeaseExpiredError). */
      error: Error;
    }
  /** close() revoked the session's lease. */
  | {
      /** The kind of message: the session was closed and its lease revoked. */
      type: 'revoked';
      /** The lease id. */
      lease: bigint;
    };

/**
 * 'etcdkit:watch': watches on the client's shared stream. `watch` numbers watches within the
 * process; `key` is the watched key (or range start) as sent to etcd, with the client's namespace.
 */
export type WatchMessage =
  /** etcd confirmed a new watch. */
  | {
      /** The kind of message: etcd confirmed a new watch. */
      type: 'created';
      /** The watch's number within the process (the same in every message about it). */
      watch: number;
      /** The watched key or range start, with the client's namespace. */
      key: Buffer;
      /** The store's revision when etcd confirmed the watch (its response header). */
      revision: bigint;
    }
  /** Re-created on a new stream (after a disconnect or a back-pressure pause) from `revision`. */
  | {
      /** The kind of message: the watch was re-created and goes on where it stopped. */
      type: 'resumed';
      /** The watch's number within the process. */
      watch: number;
      /** The watched key or range start, with the client's namespace. */
      key: Buffer;
      /** The first revision not received yet: where the re-created watch starts. */
      revision: bigint;
    }
  /** The revisions it needed were compacted: the watch ends with a CompactedError ('ended' follows). */
  | {
      /** The kind of message: the watch's history was compacted. */
      type: 'compacted';
      /** The watch's number within the process. */
      watch: number;
      /** The watched key or range start, with the client's namespace. */
      key: Buffer;
      /** etcd's compact revision: the oldest revision still kept. */
      compactRevision: bigint;
    }
  /**
   * Back-pressure: more than `watchHighWaterMark` events wait for the consumer, so the watch is
   * cancelled on the server until the consumer has taken half of them.
   */
  | {
      /** The kind of message: the watch was paused on the server. */
      type: 'paused';
      /** The watch's number within the process. */
      watch: number;
      /** The watched key or range start, with the client's namespace. */
      key: Buffer;
      /** Events received and not yet taken by the consumer. */
      queued: number;
    }
  /** The consumer caught up (at most half of `watchHighWaterMark` waits): the watch is re-created ('resumed' follows). */
  | {
      /** The kind of message: a paused watch goes on. */
      type: 'unpaused';
      /** The watch's number within the process. */
      watch: number;
      /** The watched key or range start, with the client's namespace. */
      key: Buffer;
      /** Events received and not yet taken by the consumer. */
      queued: number;
    }
  /**
   * How far the consumer is behind what arrived: in revisions, and ms since the oldest batch it
   * has not taken yet arrived. Published when a batch arrives and when the consumer takes one.
   */
  | {
      /** The kind of message: how far the consumer is behind. */
      type: 'lag';
      /** The watch's number within the process. */
      watch: number;
      /** The watched key or range start, with the client's namespace. */
      key: Buffer;
      /** Revisions from the last one the consumer took to the newest received; 0n when nothing waits. */
      revisions: bigint;
      /** ms since the oldest batch the consumer has not taken arrived; 0 when nothing waits. */
      ms: number;
      /** Events received and not yet taken by the consumer. */
      queued: number;
    }
  /** The watch ended: closed, aborted or failed. Its last message. */
  | {
      /** The kind of message: the watch ended. */
      type: 'ended';
      /** The watch's number within the process. */
      watch: number;
      /** The watched key or range start, with the client's namespace. */
      key: Buffer;
      /** Why it ended (e.g. CompactedError, AbortError, ClientClosedError); undefined when closed. */
      error: Error | undefined;
    };

/** What a lock is: `kind` is 'mutex', 'read', 'write' (RWMutex) or 'semaphore'; `name` as given. */
export interface LockSubject {
  /** 'mutex', 'read' or 'write' (the two sides of an RWMutex), or 'semaphore'. */
  kind: string;
  /** The lock's name as the caller gave it. */
  name: string;
  /** The waiter/holder key (relative to the session's client). */
  key: string;
  /** The lease of the session the key is attached to. */
  lease: bigint;
}

/**
 * 'etcdkit:lock': Mutex, RWMutex and Semaphore (and lockAll/withLock(s), made of them). Each
 * acquire publishes 'wait', then 'acquired' or 'failed'; each hold ends with 'released' or 'lost'.
 * Durations are measured with a monotonic clock.
 */
export type LockMessage =
  /** An acquire began: the key joins the queue. */
  | ({
      /** The kind of message: an acquire began. */
      type: 'wait';
    } & LockSubject)
  /** The lock is held. */
  | ({
      /** The kind of message: the lock was acquired. */
      type: 'acquired';
      /** The create revision of the holder key: grows with every new holder, to fence writes with. */
      fencingToken: bigint;
      /** ms from the start of the acquire ('wait') to now. */
      waitMs: number;
    } & LockSubject)
  /** The acquire ended without the lock: timeout, abort, session lost, error; `busy` for a tryLock that found it taken. */
  | ({
      /** The kind of message: the acquire ended without the lock. */
      type: 'failed';
      /** ms from the start of the acquire ('wait') to now. */
      waitMs: number;
      /** Why (e.g. DeadlineExceededError, AbortError, SessionExpiredError); undefined when `busy`. */
      error: Error | undefined;
      /** True for a try that found the lock taken and did not wait. */
      busy: boolean;
    } & LockSubject)
  /** unlock() gave the lock up. */
  | ({
      /** The kind of message: the lock was released. */
      type: 'released';
      /** The fencing token of the hold that ended. */
      fencingToken: bigint;
      /** ms the lock was held, from 'acquired'. */
      holdMs: number;
    } & LockSubject)
  /** Ownership ended without unlock(): `error` says why (session lost, key deleted, unfollowable). */
  | ({
      /** The kind of message: the lock was lost. */
      type: 'lost';
      /** The fencing token of the hold that ended. */
      fencingToken: bigint;
      /** ms the lock was held, from 'acquired'. */
      holdMs: number;
      /** Why it was lost (e.g. SessionExpiredError). */
      error: Error;
    } & LockSubject);

/** A leader as observed: the candidate key with the lowest create revision. */
export interface LeaderInfo {
  /** The leader's key, `<name>/<lease id in hex>`, relative to the client's namespace. */
  key: Buffer;
  /** The leader's proposal (its last proclaimed value). */
  value: Buffer;
  /** The revision at which the leader's key was created: grows with every new leadership. */
  createRevision: bigint;
  /** The leader's session lease. */
  lease: bigint;
}

/**
 * 'etcdkit:election': candidates of this process, and leader changes seen by leader-runners.
 * `name` is the election's name as given, `key` this candidate's key (relative to the session's
 * client) and `lease` its session's lease. Durations are measured with a monotonic clock.
 */
export type ElectionMessage =
  /** A campaign began: the candidate key joins the queue. */
  | {
      /** The kind of message: a campaign began. */
      type: 'campaign';
      /** The election's name. */
      name: string;
      /** The candidate's key. */
      key: string;
      /** The candidate's session lease. */
      lease: bigint;
    }
  /** The candidate became leader. */
  | {
      /** The kind of message: this candidate was elected. */
      type: 'elected';
      /** The election's name. */
      name: string;
      /** The candidate's key. */
      key: string;
      /** The candidate's session lease. */
      lease: bigint;
      /** The create revision of the candidate key (see {@link LeaderInfo.createRevision}). */
      createRevision: bigint;
      /** ms from the start of the campaign to now. */
      waitMs: number;
    }
  /** The campaign ended without leadership: timeout, abort, session lost, error. */
  | {
      /** The kind of message: the campaign failed. */
      type: 'campaign-failed';
      /** The election's name. */
      name: string;
      /** The candidate's key. */
      key: string;
      /** The candidate's session lease. */
      lease: bigint;
      /** ms from the start of the campaign to now. */
      waitMs: number;
      /** Why (e.g. DeadlineExceededError, AbortError, SessionExpiredError). */
      error: Error;
    }
  /** resign() gave leadership up. */
  | {
      /** The kind of message: the leader resigned. */
      type: 'resigned';
      /** The election's name. */
      name: string;
      /** The candidate's key. */
      key: string;
      /** The candidate's session lease. */
      lease: bigint;
      /** ms it led, from 'elected'. */
      leadMs: number;
    }
  /** Leadership ended without resign(): session lost, key deleted. */
  | {
      /** The kind of message: leadership was lost. */
      type: 'lost';
      /** The election's name. */
      name: string;
      /** The candidate's key. */
      key: string;
      /** The candidate's session lease. */
      lease: bigint;
      /** ms it led, from 'elected'. */
      leadMs: number;
      /** Why it was lost (e.g. SessionExpiredError). */
      error: Error;
    }
  /** The leader changed (`leader` undefined: there is none). Published by leader-runners. */
  | {
      /** The kind of message: the observed leader changed. */
      type: 'leader';
      /** The election's name. */
      name: string;
      /** The leader now; undefined when there is none. */
      leader: LeaderInfo | undefined;
      /** The leader observed before; undefined when there was none (or none was known yet). */
      previous: LeaderInfo | undefined;
    };

/** 'etcdkit:config': config-sync mirrors. `prefix` is the mirrored prefix (UTF-8). */
export type ConfigMessage =
  /** The first listing is loaded: `keys` values at `revision`. */
  | {
      /** The kind of message: the first listing was loaded. */
      type: 'synced';
      /** The mirrored prefix. */
      prefix: string;
      /** The revision the prefix was read at. */
      revision: bigint;
      /** How many keys the listing held. */
      keys: number;
    }
  /** One revision's changes were applied (a new snapshot). */
  | {
      /** The kind of message: one revision's changes were applied. */
      type: 'applied';
      /** The mirrored prefix. */
      prefix: string;
      /** The revision whose changes were applied. */
      revision: bigint;
      /** How many keys it put or deleted. */
      changes: number;
    }
  /** A value failed to decode or validate; the key keeps its last good value. */
  | {
      /** The kind of message: a value was rejected. */
      type: 'invalid';
      /** The mirrored prefix. */
      prefix: string;
      /** The key, relative to the mirrored prefix. */
      key: string;
      /** The revision that wrote the rejected value. */
      revision: bigint;
      /** Why it was rejected, in words (the decoder's or the schema's message). */
      reason: string;
    }
  /** Serving the last-known-good file or initial values: etcd was unreachable at start. */
  | {
      /** The kind of message: the mirror serves stale content. */
      type: 'stale';
      /** The mirrored prefix. */
      prefix: string;
      /** The last error reaching etcd; undefined when none was recorded. */
      error: Error | undefined;
    }
  /** Listed again after a compaction ('compacted') or when etcd came back ('recovered'). */
  | {
      /** The kind of message: the prefix was read again. */
      type: 'relisted';
      /** The mirrored prefix. */
      prefix: string;
      /** The revision the prefix was read at. */
      revision: bigint;
      /** `compacted`: the watch's history was compacted; `recovered`: etcd was reached after a degraded start. */
      reason: 'compacted' | 'recovered';
      /** Missed puts applied by the diff. */
      puts: number;
      /** Missed deletes applied by the diff. */
      deletes: number;
    }
  /** The mirror's status changed. */
  | {
      /** The kind of message: the mirror's status changed. */
      type: 'status';
      /** The mirrored prefix. */
      prefix: string;
      /** The new status: 'syncing', 'live', 'reconnecting', 'stale' or 'closed' (a MirrorStatus). */
      status: string;
      /** The status before. */
      previous: string;
    }
  /** The mirror was closed (after its status became 'closed'); its last message. */
  | {
      /** The kind of message: the mirror was closed. */
      type: 'closed';
      /** The mirrored prefix. */
      prefix: string;
    };

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
