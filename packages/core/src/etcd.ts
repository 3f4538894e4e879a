import { EventEmitter } from 'eventemitter3';
import { AuthApi } from './auth.js';
import { ClusterApi } from './cluster.js';
import { ClientClosedError, type EtcdError, InvalidArgumentError } from './errors.js';
import { type Bytes, toBuffer } from './internal/bytes.js';
import { type CallOptions, Connection } from './internal/connection.js';
import { checkInt64 } from './internal/int64.js';
import { type KeySelector, Keyspace } from './internal/keyspace.js';
import { checkPutSize, checkTxnSize } from './internal/request-size.js';
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
  toKeyValue,
  toRangeRequest,
} from './kv.js';
import { checkTtl, type GrantOptions, type Lease, LeaseManager, type LeaseTimeToLive } from './lease.js';
import { MaintenanceApi } from './maintenance.js';
import { defaults, type EtcdOptions } from './options.js';
import { newSession, type Session, type SessionOptions } from './session.js';
import { runStm, type StmOptions, type StmTx } from './stm.js';
import {
  deleteRequest,
  putRequest,
  Txn,
  type TxnBranches,
  type TxnResult,
  toTxnResult,
  txnRequest,
  type WireContext,
} from './txn.js';
import { bindWatchHub, type Watcher, WatchHub, type WatchOptions } from './watch.js';

export interface EtcdEvents {
  /** A connection to `endpoint` is ready. */
  connected: [endpoint: string];
  /** The connection to `endpoint` failed; calls move to another endpoint. */
  disconnected: [endpoint: string, error: EtcdError];
  /** Calls now go to `endpoint`. */
  endpoint: [endpoint: string];
}

export interface GetOptions extends CallOptions {
  revision?: Revision;
  serializable?: boolean;
}

export interface ScanOptions extends KeySelector, CallOptions {
  /** Keys per request. Default 1000. */
  pageSize?: number;
  /** Read at this revision; default: the revision of the first page, kept for all pages. */
  revision?: Revision;
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
}

const internal = Symbol('etcdkit.internal');

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
  readonly lease: LeaseApi;
  /** Membership: list, add, remove, update, promote. */
  readonly cluster: ClusterApi;
  /** Per-member status, health, alarms, defragment, snapshot, hash, leader moves. */
  readonly maintenance: MaintenanceApi;
  /** Users, roles, permissions, enabling authentication. */
  readonly auth: AuthApi;

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
      const conn = new Connection(resolved);
      this.shared = {
        conn,
        leases: new LeaseManager(conn),
        watches: new WatchHub(conn),
        sessions: new Set(),
        closing: false,
      };
      this.ks = new Keyspace(toBuffer(resolved.namespace));
      this.isRoot = true;
      if (resolved.autoSyncIntervalMs) {
        this.syncTimer = setInterval(() => {
          this.syncEndpoints().catch(() => {
            // The next round tries again; calls keep using the endpoints already known.
          });
        }, resolved.autoSyncIntervalMs);
        this.syncTimer.unref();
      }
    }
    this.wire = { ks: this.ks, maxRequestBytes: this.shared.conn.options.maxRequestBytes };
    bindWatchHub(this, this.shared.watches);
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

  async get(key: Bytes, options: GetOptions = {}): Promise<KeyValue | undefined> {
    const r = await this.range({ key, ...options });
    return r.kvs[0];
  }

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

  private rawRange(req: WireRangeRequest, o: CallOptions): Promise<WireRangeResponse> {
    return this.shared.conn.unary<WireRangeRequest, WireRangeResponse>('KV', 'Range', req, {
      idempotent: true,
      ...o,
      context: { key: req.key as Buffer, revision: BigInt(req.revision ?? 0) },
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

  async put(key: Bytes, value: Bytes, options: PutOptions & CallOptions = {}): Promise<PutResult> {
    this.assertOpen();
    const req = putRequest(key, value, options, this.wire);
    checkPutSize(req, this.wire.maxRequestBytes, this.shared.conn.options.auth?.username);
    const r = await this.shared.conn.unary<typeof req, WirePutResponse>('KV', 'Put', req, {
      idempotent: false,
      ...options,
      context: { key: req.key as Buffer, ...(options.lease !== undefined ? { leaseId: options.lease } : {}) },
    });
    const out: PutResult = { revision: BigInt(r.header.revision) };
    if (r.prevKv) out.prevKv = toKeyValue(r.prevKv, this.ks);
    return out;
  }

  async delete(target: DeleteTarget, options: DeleteOptions & CallOptions = {}): Promise<DeleteResult> {
    this.assertOpen();
    const req = deleteRequest(target, options, this.wire);
    const r = await this.shared.conn.unary<typeof req, WireDeleteRangeResponse>('KV', 'DeleteRange', req, {
      idempotent: false,
      ...options,
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
    return new Txn((branches, readOnly, o) => this.commit(branches, readOnly, o));
  }

  private async commit(branches: TxnBranches, readOnly: boolean, o: CallOptions = {}): Promise<TxnResult> {
    this.assertOpen();
    const req = txnRequest(branches, this.wire);
    // A read-only txn is served without going through raft, where etcd checks the size.
    if (!readOnly) checkTxnSize(req, this.wire.maxRequestBytes, this.shared.conn.options.auth?.username);
    const read = oldestRead(req);
    const r = await this.shared.conn.unary<WireTxnRequest, WireTxnResponse>('KV', 'Txn', req, {
      idempotent: readOnly,
      ...o,
      ...(read ? { context: read } : {}),
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
      { idempotent: true, ...options },
    );
  }

  /** Watch a key or range; see Watcher for the delivery guarantees. */
  watch(options: WatchOptions): Watcher {
    this.assertOpen();
    return this.shared.watches.watch(this.ks, options);
  }

  /** A lease kept alive until close(): the base of locks and elections. */
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

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
