import { EventEmitter } from 'eventemitter3';
import { AuthApi } from './auth.js';
import { ClusterApi } from './cluster.js';
import { ClientClosedError, type EtcdError, InvalidArgumentError } from './errors.js';
import { type Bytes, toBuffer } from './internal/bytes.js';
import { type CallOptions, Connection, type UnaryOptions } from './internal/connection.js';
import { checkInt64 } from './internal/int64.js';
import { type KeySelector, Keyspace } from './internal/keyspace.js';
import { LinkMonitor } from './internal/link-monitor.js';
import { bindLog, Log } from './internal/log.js';
import { checkPutSize, checkTxnSize } from './internal/request-size.js';
import { unref } from './internal/signals.js';
import type {
  WireCompactionRequest,
  WireDeleteRangeResponse,
  WirePutResponse,
  WireRangeRequest,
  WireRangeResponse,
  WireTxnRequest,
  WireTxnResponse,
} from './internal/wire.js';
import {
  type DeleteOptions,
  type DeleteResult,
  type DeleteTarget,
  type KeyValue,
  type PutOptions,
  type PutResult,
  type RangeOptions,
  type RangeResult,
  type Revision,
  revisionString,
  toKeyValue,
  toRangeRequest,
} from './kv.js';
import { checkTtl, type GrantOptions, type Lease, LeaseManager, type LeaseTimeToLive } from './lease.js';
import { MaintenanceApi } from './maintenance.js';
import { defaults, type EtcdOptions } from './options.js';
import { newSession, type Session, type SessionOptions } from './session.js';
import { runStm, type StmOptions, type StmTx } from './stm.js';
import { deleteRequest, putRequest, Txn, type TxnResult, toTxnResult, type WireContext } from './txn.js';
import { bindWatchHub, type Watcher, WatchHub, type WatchOptions } from './watch.js';

/**
 * Events of an {@link Etcd} client (an eventemitter3 emitter), e.g. `etcd.on('disconnected',
 * (endpoint, err) => ...)`.
 */
export interface EtcdEvents {
  /** A connection to `endpoint` is ready. */
  connected: [endpoint: string];
  /** The connection to `endpoint` failed; calls move to another endpoint. */
  disconnected: [endpoint: string, error: EtcdError];
  /** Calls now go to `endpoint`. */
  endpoint: [endpoint: string];
}

/** Options of {@link Etcd.get}. */
export interface GetOptions extends CallOptions {
  /**
   * Read the key as it was at this revision (absent or 0: the latest). A compacted revision rejects
   * with CompactedError, a future one with FutureRevisionError.
   */
  revision?: Revision;
  /**
   * Answer from the member the client is connected to, without a quorum round trip: faster, but may
   * be stale.
   */
  serializable?: boolean;
}

export interface ScanOptions extends KeySelector, CallOptions {
  /** Keys per request. Default 1000. */
  pageSize?: number;
  /** Read at this revision; default: the revision of the first page, kept for all pages. */
  revision?: Revision;
  /** Return keys without their values (`value` is an empty Buffer). */
  keysOnly?: boolean;
}

/** What every client and namespace view share: one connection, one watch stream, one keepalive stream. */
interface Shared {
  conn: Connection;
  leases: LeaseManager;
  watches: WatchHub;
  sessions: Set<Session>;
  /** Set when the root client begins to close: from then on nothing new may start. */
  closing: boolean;
  log: Log;
  link: LinkMonitor;
}

/** What etcd.health() reports: `ok` for a readiness probe, the rest to say why not. */
export interface EtcdHealth {
  /**
   * True when `problems` is empty: the client is open, an endpoint has a ready connection, and
   * no watch is lagging. Sessions do not count (see {@link EtcdHealth.sessions}).
   */
  ok: boolean;
  /** Why not ok, one phrase each (empty when ok). */
  problems: string[];
  /** The endpoint with a ready connection, if any. */
  endpoint?: string;
  /** When a call last succeeded (ms since the epoch), if one did. */
  lastSuccessAt?: number;
  /** Sessions open on this client, and the least time any of them has left before its local deadline. */
  sessions: {
    /** Sessions open on the client (its namespace views included). */
    alive: number;
    /** The least ms any of them has left before its local deadline; absent when none is open. */
    minRemainingMs?: number;
  };
  /** Watches open, and those whose consumer is behind by more than `watchLagMs` (or paused by back-pressure). */
  watches: {
    /** Watches open on the client's shared stream (its namespace views included). */
    active: number;
    /** Those paused by back-pressure, or whose oldest undelivered batch is older than `watchLagMs`. */
    lagging: number;
  };
  /** True once close() was called on this client or view (then `ok` is false). */
  closed: boolean;
}

/** Options of {@link Etcd.health}. */
export interface HealthOptions {
  /**
   * Check the connection now (no call is made): when the current one is not ready, wait up to
   * `timeoutMs` (default: dialTimeoutMs) for an endpoint to connect. False: report the last
   * state seen by calls. Default true.
   */
  probe?: boolean;
  /** With `probe`: how long to wait for an endpoint to connect when none is ready, ms. Default: dialTimeoutMs. */
  timeoutMs?: number;
  /** A watch counts as lagging when its oldest undelivered batch is older than this, ms. Default 10000. */
  watchLagMs?: number;
  /** Ends the wait for a connection early; health() then reports what it sees (it does not reject). */
  signal?: AbortSignal;
}

const internal = Symbol('etcdkit.internal');

/**
 * The options of one call, of one fixed shape: a spread of the caller's options (which carry
 * put or range options too) on every call showed in profiles.
 */
function callOptions(idempotent: boolean, o: CallOptions, context: UnaryOptions['context']): UnaryOptions {
  return { idempotent, timeoutMs: o.timeoutMs, signal: o.signal, context };
}

/** The read of a transaction at the oldest revision (the one a CompactedError is about), if any. */
function oldestRead(req: WireTxnRequest): { key: Buffer; revision: bigint } | undefined {
  let best: { key: Buffer; revision: bigint } | undefined;
  const visit = (ops: WireTxnRequest['success']) => {
    for (const o of ops) {
      if ('requestRange' in o && o.requestRange.revision) {
        const revision = BigInt(o.requestRange.revision);
        if (revision > 0n && (!best || revision < best.revision))
          best = { key: Buffer.from(o.requestRange.key), revision };
      }
      if ('requestTxn' in o) {
        visit(o.requestTxn.success);
        visit(o.requestTxn.failure);
      }
    }
  };
  visit(req.success);
  visit(req.failure);
  return best;
}

/** Lease calls of a client. */
export interface LeaseApi {
  /** Grant a lease of `ttl` seconds. Pass `{ keepAlive: true }` (or call lease.keepAlive()) to keep it. */
  grant(ttl: number, options?: GrantOptions): Promise<Lease>;
  /** IDs of every lease etcd knows. */
  list(options?: CallOptions): Promise<bigint[]>;
  /**
   * Revoke the lease `id`: etcd deletes every key attached to it at once. Rejects with
   * LeaseNotFoundError when etcd no longer knows the lease.
   */
  revoke(id: bigint, options?: CallOptions): Promise<void>;
  /** Seconds left (-1 once gone) and granted TTL of any lease by id; with `keys`, its keys as etcd holds them (namespace included). */
  timeToLive(id: bigint, options?: CallOptions & { keys?: boolean }): Promise<LeaseTimeToLive>;
}

/**
 * An etcd v3 client. One gRPC connection to one of `endpoints` at a time, failing over to the
 * next; every watch shares one stream and every lease keepalive another.
 */
export class Etcd extends EventEmitter<EtcdEvents> {
  private readonly shared: Shared;
  private readonly ks: Keyspace;
  private readonly wire: WireContext;
  private readonly isRoot: boolean;
  private viewClosed = false;
  private closing: Promise<void> | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private readonly onConnected = (e: string) => this.emit('connected', e);
  private readonly onDisconnected = (e: string, err: EtcdError) => this.emit('disconnected', e, err);
  private readonly onEndpoint = (e: string) => this.emit('endpoint', e);
  /** Lease calls: `grant(ttl)` returns a {@link Lease}, `list()`, `revoke(id)`. */
  readonly lease: LeaseApi;
  /** Membership: list, add, remove, update, promote. */
  readonly cluster: ClusterApi;
  /** Per-member status, health, alarms, defragment, snapshot, hash, leader moves. */
  readonly maintenance: MaintenanceApi;
  /** Users, roles, permissions, enabling authentication. */
  readonly auth: AuthApi;

  /**
   * Create a client. Nothing is dialed yet: the first call connects (within `dialTimeoutMs`), and
   * later calls share the connection. Close it with {@link Etcd.close} (or `await using`).
   *
   * @throws {@link InvalidArgumentError} for a bad option (wrong type, out of range, unknown name,
   * malformed endpoint).
   * @example
   * ```ts
   * const etcd = new Etcd({
   *   endpoints: ['https://10.0.0.1:2379', 'https://10.0.0.2:2379'],
   *   tls: { ca: readFileSync('ca.pem') },
   *   auth: { username: 'app', password: process.env.ETCD_PASSWORD! },
   * });
   * ```
   */
  constructor(options?: EtcdOptions);
  /** @internal a namespace view */
  constructor(options: EtcdOptions | undefined, view: { [internal]: { shared: Shared; ks: Keyspace } });
  constructor(options?: EtcdOptions, view?: { [internal]: { shared: Shared; ks: Keyspace } }) {
    super();
    if (view) {
      this.shared = view[internal].shared;
      this.ks = view[internal].ks;
      this.isRoot = false;
    } else {
      const resolved = defaults(options);
      const log = new Log(resolved.logger, resolved.logIntervalMs);
      bindLog(resolved, log);
      const conn = new Connection(resolved);
      this.shared = {
        conn,
        leases: new LeaseManager(conn),
        watches: new WatchHub(conn),
        sessions: new Set(),
        closing: false,
        log,
        link: new LinkMonitor(conn, log),
      };
      this.ks = new Keyspace(toBuffer(resolved.namespace));
      this.isRoot = true;
      if (resolved.autoSyncIntervalMs) {
        this.syncTimer = setInterval(() => {
          this.syncEndpoints().catch(() => {
            // The next round tries again; calls keep using the endpoints already known.
          });
        }, resolved.autoSyncIntervalMs);
        unref(this.syncTimer);
      }
    }
    this.wire = { ks: this.ks, maxRequestBytes: this.shared.conn.options.maxRequestBytes };
    bindWatchHub(this, this.shared.watches);
    bindLog(this, this.shared.log);
    this.shared.conn.on('connected', this.onConnected);
    this.shared.conn.on('disconnected', this.onDisconnected);
    this.shared.conn.on('endpoint', this.onEndpoint);
    this.cluster = new ClusterApi(this.shared.conn);
    this.maintenance = new MaintenanceApi(this.shared.conn);
    this.auth = new AuthApi(this.shared.conn, this.ks);
    const leases = this.shared.leases;
    this.lease = {
      grant: async (ttl, o) => {
        this.assertOpen();
        return leases.grant(ttl, o);
      },
      list: async (o) => {
        this.assertOpen();
        return leases.list(o);
      },
      revoke: async (id, o) => {
        this.assertOpen();
        return leases.revoke(id, o);
      },
      timeToLive: async (id, o) => {
        this.assertOpen();
        return leases.timeToLive(id, o);
      },
    };
  }

  /** The key prefix of this client or view ('' at the root). */
  get prefix(): Buffer {
    return this.ks.prefix;
  }

  /** The endpoint calls currently go to. */
  get endpoint(): string {
    return this.shared.conn.endpoint;
  }

  /**
   * Every endpoint the client may fail over to, as configured (plus those added by {@link
   * Etcd.syncEndpoints}).
   */
  get endpoints(): string[] {
    return this.shared.conn.endpointLabels;
  }

  /** True once close() was called on this view or on the client (also while it is closing). */
  get closed(): boolean {
    return this.viewClosed || this.shared.closing || this.shared.conn.closed;
  }

  private assertOpen(): void {
    if (this.closed) throw new ClientClosedError();
  }

  /** Add the client URLs of every member to the endpoints; returns the ones that were new. */
  async syncEndpoints(options?: CallOptions): Promise<string[]> {
    this.assertOpen();
    const members = await this.cluster.memberList(options);
    return this.shared.conn.addEndpoints(members.flatMap((m) => m.clientUrls));
  }

  /** The same API with every key under `prefix`, on the same connection. */
  namespace(prefix: Bytes): Etcd {
    this.assertOpen();
    if (toBuffer(prefix).length === 0) throw new InvalidArgumentError('namespace prefix must not be empty');
    return new Etcd(undefined, { [internal]: { shared: this.shared, ks: this.ks.child(prefix) } });
  }

  /**
   * Read one key.
   *
   * @returns the key with its value and revisions, or `undefined` when it does not exist.
   * @throws {@link InvalidArgumentError} for an empty key or a bad revision; {@link CompactedError}
   * when `revision` is compacted; {@link UnavailableError} / {@link DeadlineExceededError} when no
   * member answers in time (reads are retried first).
   * @example
   * ```ts
   * const kv = await etcd.get('config/db/url');
   * if (kv) console.log(kv.value.toString(), kv.modRevision);
   * ```
   */
  async get(key: Bytes, options?: GetOptions): Promise<KeyValue | undefined> {
    this.assertOpen();
    const req: WireRangeRequest = { key: this.ks.key(key) };
    if (options?.revision !== undefined) req.revision = revisionString(options.revision);
    if (options?.serializable) req.serializable = true;
    const r = await this.rawRange(req, options);
    const kv = r.kvs[0];
    return kv ? toKeyValue(kv, this.ks) : undefined;
  }

  /**
   * Read a range of keys: one key, a `prefix`, `[key, end)` or every key from `key` on (`fromKey`),
   * with limit, sorting, revision and count-only options. For big ranges prefer {@link Etcd.scan},
   * which pages.
   *
   * @returns the matching keys (`kvs`), whether `limit` cut the result (`more`), how many keys the
   * whole range holds (`count`) and the revision it was read at.
   * @throws {@link InvalidArgumentError} for a bad selector or option; {@link CompactedError} /
   * {@link FutureRevisionError} for an unreadable `revision`; {@link UnavailableError} / {@link
   * DeadlineExceededError} when no member answers in time.
   * @example
   * ```ts
   * const { kvs, count } = await etcd.range({ prefix: 'services/api/', limit: 100 });
   * ```
   */
  async range(options: RangeOptions & CallOptions): Promise<RangeResult> {
    this.assertOpen();
    const req = toRangeRequest(options, this.ks);
    const r = await this.rawRange(req, options);
    return {
      kvs: r.kvs.map((kv) => toKeyValue(kv, this.ks)),
      more: r.more,
      count: Number(r.count),
      revision: BigInt(r.header.revision),
    };
  }

  private rawRange(req: WireRangeRequest, o: CallOptions | undefined): Promise<WireRangeResponse> {
    return this.shared.conn.unary<WireRangeRequest, WireRangeResponse>('KV', 'Range', req, {
      idempotent: true,
      timeoutMs: o?.timeoutMs,
      signal: o?.signal,
      context: { key: req.key as Buffer, revision: req.revision === undefined ? 0n : BigInt(req.revision) },
    });
  }

  /**
   * Every key of a range, paged, all at one revision (the first page's unless `revision` is
   * given). If that revision is compacted mid-scan, the iterator throws a CompactedError.
   */
  async *scan(options: ScanOptions): AsyncGenerator<KeyValue, void, undefined> {
    this.assertOpen();
    const pageSize = options.pageSize ?? 1000;
    if (!Number.isSafeInteger(pageSize) || pageSize < 1)
      throw new InvalidArgumentError(`pageSize must be a whole number >= 1, got ${pageSize}`);
    const { pageSize: _p, ...rest } = options;
    // No sort order: etcd returns keys in ascending order anyway, and any sort order makes it
    // read the whole rest of the range for every page (limit is applied after sorting).
    const req = toRangeRequest({ ...rest, limit: pageSize }, this.ks);
    for (;;) {
      const r = await this.rawRange(req, options);
      req.revision ??= r.header.revision;
      for (const kv of r.kvs) yield toKeyValue(kv, this.ks);
      const last = r.kvs[r.kvs.length - 1];
      if (!r.more || !last) return;
      req.key = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  /**
   * Write a value under a key, optionally attached to a lease (the key is deleted when the lease
   * ends).
   *
   * @returns the revision of the write, and the previous key-value when `prevKv` is set and the key
   * existed.
   * @throws {@link InvalidArgumentError} for an empty key or a bad lease id; {@link
   * RequestTooLargeError} when key and value exceed `maxRequestBytes`; {@link LeaseNotFoundError}
   * when the lease is gone. A put is not retried once sent: a {@link DeadlineExceededError} or
   * {@link UnavailableError} with `outcomeUnknown` means it may have been applied.
   * @example
   * ```ts
   * const lease = await etcd.lease.grant(10);
   * await etcd.put('workers/w1', 'alive', { lease: lease.id });
   * ```
   */
  async put(key: Bytes, value: Bytes, options: PutOptions & CallOptions = {}): Promise<PutResult> {
    this.assertOpen();
    const req = putRequest(key, value, options, this.wire);
    checkPutSize(req, this.wire.maxRequestBytes, this.shared.conn.options.auth?.username);
    const r = await this.shared.conn.unary<typeof req, WirePutResponse>('KV', 'Put', req, {
      idempotent: false,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      context:
        options.lease !== undefined
          ? { key: req.key as Buffer, leaseId: options.lease }
          : { key: req.key as Buffer },
    });
    const out: PutResult = { revision: BigInt(r.header.revision) };
    if (r.prevKv) out.prevKv = toKeyValue(r.prevKv, this.ks);
    return out;
  }

  /**
   * Delete one key (`delete('a')`) or a range (`delete({ prefix: 'jobs/' })`, `{ key, end }`, `{
   * key, fromKey: true }`).
   *
   * @returns how many keys were deleted, their previous values when `prevKv` is set, and the
   * revision of the delete.
   * @throws {@link InvalidArgumentError} for an empty key or a bad selector. Not retried once sent:
   * a {@link DeadlineExceededError} or {@link UnavailableError} with `outcomeUnknown` means it may
   * have been applied.
   */
  async delete(target: DeleteTarget, options: DeleteOptions & CallOptions = {}): Promise<DeleteResult> {
    this.assertOpen();
    const req = deleteRequest(target, options, this.wire);
    const r = await this.shared.conn.unary<typeof req, WireDeleteRangeResponse>('KV', 'DeleteRange', req, {
      idempotent: false,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      context: { key: req.key as Buffer },
    });
    return {
      deleted: Number(r.deleted),
      prevKvs: r.prevKvs.map((kv) => toKeyValue(kv, this.ks)),
      revision: BigInt(r.header.revision),
    };
  }

  /** Build a transaction: `txn().if(...compares).then(...ops).else(...ops).commit()`. */
  txn(): Txn {
    return new Txn(this.wire, this.runTxn);
  }

  // Bound once per client rather than a closure per txn().
  private readonly runTxn = (req: WireTxnRequest, readOnly: boolean, o?: CallOptions): Promise<TxnResult> =>
    this.commit(req, readOnly, o);

  private async commit(
    req: WireTxnRequest,
    readOnly: boolean,
    o: CallOptions | undefined,
  ): Promise<TxnResult> {
    this.assertOpen();
    // A read-only txn is served without going through raft, where etcd checks the size.
    if (!readOnly) checkTxnSize(req, this.wire.maxRequestBytes, this.shared.conn.options.auth?.username);
    const r = await this.shared.conn.unary<WireTxnRequest, WireTxnResponse>('KV', 'Txn', req, {
      idempotent: readOnly,
      timeoutMs: o?.timeoutMs,
      signal: o?.signal,
      context: oldestRead(req),
    });
    return toTxnResult(r, this.ks);
  }

  /**
   * Software transactional memory, as etcd's Go STM: `fn(tx)` reads with `tx.get()` /
   * `tx.range()` and buffers writes with `tx.put()` / `tx.delete()`; one txn checks what the
   * isolation level requires and applies the writes. On a conflict `fn` runs again. Resolves
   * with fn's result; StmConflictError when `maxRetries` runs out. See stm.ts.
   */
  async stm<T>(fn: (tx: StmTx) => T | Promise<T>, options?: StmOptions): Promise<T> {
    this.assertOpen();
    return runStm(this, fn, options);
  }

  /** Drop history before `revision`. With `physical`, wait until the space is reclaimed. */
  async compact(revision: Revision, options: CallOptions & { physical?: boolean } = {}): Promise<void> {
    this.assertOpen();
    const rev = checkInt64(revision, 'compact revision', { min: 1n }).toString();
    await this.shared.conn.unary<WireCompactionRequest, object>(
      'KV',
      'Compact',
      { revision: rev, physical: options.physical ?? false },
      callOptions(true, options, undefined),
    );
  }

  /**
   * Watch one key (`key`), a `prefix`, `[key, end)` or every key from `key` on (`fromKey`), from
   * `startRevision` on (default: the changes after now). Returns at once; iterate the
   * {@link Watcher} for the events (in revision order, no gaps or duplicates across reconnects)
   * and close it when done. All watches of a client share one stream.
   *
   * @throws {@link InvalidArgumentError} (at once) for a bad selector or revision; a
   * {@link ClientClosedError} when the client is closed. Failures after the start (a compacted
   * `startRevision`, permission denied) end the iteration with that error.
   * @example
   * ```ts
   * const w = etcd.watch({ prefix: 'jobs/', prevKv: true, signal });
   * for await (const ev of w) {
   *   if (ev.type === 'delete') console.log('gone:', ev.prevKv?.value.toString());
   * }
   * ```
   */
  watch(options: WatchOptions): Watcher {
    this.assertOpen();
    return this.shared.watches.watch(this.ks, options);
  }

  /**
   * A lease of `ttl` seconds (default 60) kept alive until close(): the base of locks and
   * elections. Its `signal` aborts at the local deadline when keepalives stop succeeding, before
   * etcd expires the lease. Resolves once the lease is granted.
   *
   * @throws {@link InvalidArgumentError} for a bad `ttl`; {@link UnavailableError} /
   * {@link DeadlineExceededError} when the grant fails; an {@link AbortError} when `signal` aborts.
   * @example
   * ```ts
   * await using session = await etcd.session({ ttl: 10 });
   * session.signal.addEventListener('abort', () => stopWork(session.signal.reason));
   * ```
   */
  async session(options: SessionOptions = {}): Promise<Session> {
    this.assertOpen();
    const lease = await this.shared.leases.grant(checkTtl(options.ttl ?? 60, 'session ttl'), {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    // The first keepalive's outcome shows on the lease's signal; nothing to await here.
    lease.keepAlive().catch(() => {});
    const sessions = this.shared.sessions;
    const session = newSession(this, lease, () => sessions.delete(session));
    if (!lease.lost) sessions.add(session);
    return session;
  }

  /**
   * The client's health for a readiness probe: ok when a connection is ready (or a call just
   * succeeded), and no watch's consumer is far behind. Sessions are reported, not judged: a
   * lost session is its owner's business (see a leader-runner's health()).
   */
  async health(options: HealthOptions = {}): Promise<EtcdHealth> {
    const { conn, link, watches, sessions } = this.shared;
    const watchLagMs = options.watchLagMs ?? 10_000;
    if (!Number.isFinite(watchLagMs) || watchLagMs < 0)
      throw new InvalidArgumentError(`watchLagMs must be a number of ms >= 0, got ${watchLagMs}`);
    const problems: string[] = [];
    const closed = this.closed;
    if (closed) problems.push('the client is closed');
    else if (options.probe ?? true) {
      // Ready now: answered at once, without a call. Otherwise wait (up to timeoutMs) for an endpoint to connect.
      const timeoutMs = options.timeoutMs ?? conn.options.dialTimeoutMs;
      await conn.connect(Date.now() + timeoutMs, options.signal).catch(() => undefined);
    }
    const endpoint = closed ? undefined : link.connected;
    if (!closed && endpoint === undefined) problems.push('no connection to any etcd endpoint');
    let minRemainingMs: number | undefined;
    for (const s of sessions) {
      const r = s.leaseHandle.remainingMs;
      if (minRemainingMs === undefined || r < minRemainingMs) minRemainingMs = r;
    }
    const lag = watches.lagging(watchLagMs);
    if (lag.lagging > 0) problems.push(`${lag.lagging} watch(es) behind by more than ${watchLagMs} ms`);
    const out: EtcdHealth = {
      ok: problems.length === 0,
      problems,
      sessions: { alive: sessions.size, ...(minRemainingMs !== undefined ? { minRemainingMs } : {}) },
      watches: lag,
      closed,
    };
    if (endpoint !== undefined) out.endpoint = endpoint;
    if (conn.rpcHealth.lastSuccessAt > 0) out.lastSuccessAt = conn.rpcHealth.lastSuccessAt;
    return out;
  }

  /**
   * Close the client: open sessions are revoked (their keys deleted), watches end with a
   * ClientClosedError, and every later call rejects with ClientClosedError. On a namespace view,
   * only the view is closed.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.shared.conn.off('connected', this.onConnected);
    this.shared.conn.off('disconnected', this.onDisconnected);
    this.shared.conn.off('endpoint', this.onEndpoint);
    clearInterval(this.syncTimer);
    if (!this.isRoot) {
      this.viewClosed = true;
      return;
    }
    if (this.shared.conn.closed) return;
    // Refuse new calls and sessions first: one started while the sessions below are revoked (a
    // registration that re-registers when its session ends, say) would outlive the client.
    this.shared.closing = true;
    // Releasing sessions now frees their locks at once instead of after their TTL.
    await Promise.allSettled([...this.shared.sessions].map((s) => s.close()));
    this.shared.watches.close();
    this.shared.leases.close();
    await this.shared.conn.close();
  }

  /** Same as {@link Etcd.close}, for `await using etcd = new Etcd()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
