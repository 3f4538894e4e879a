import { EventEmitter } from 'eventemitter3';
import { AuthApi } from './auth.js';
import { ClusterApi } from './cluster.js';
import { ClientClosedError, CompactedError, type EtcdError, InvalidArgumentError } from './errors.js';
import { type Bytes, toBuffer } from './internal/bytes.js';
import { type CallOptions, Connection } from './internal/connection.js';
import { type KeySelector, Keyspace } from './internal/keyspace.js';
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
import { checkTtl, type GrantOptions, type Lease, LeaseManager } from './lease.js';
import { MaintenanceApi } from './maintenance.js';
import { defaults, type EtcdOptions } from './options.js';
import { newSession, type Session, type SessionOptions } from './session.js';
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
}

const internal = Symbol('etcdkit.internal');

/** Lease calls of a client. */
export interface LeaseApi {
  /** Grant a lease of `ttl` seconds. Pass `{ keepAlive: true }` (or call lease.keepAlive()) to keep it. */
  grant(ttl: number, options?: GrantOptions): Promise<Lease>;
  /** IDs of every lease etcd knows. */
  list(options?: CallOptions): Promise<bigint[]>;
  revoke(id: bigint, options?: CallOptions): Promise<void>;
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

  get closed(): boolean {
    return this.viewClosed || this.shared.conn.closed;
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
      context: { key: req.key as Buffer },
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
    const r = await this.shared.conn.unary<WireTxnRequest, WireTxnResponse>('KV', 'Txn', req, {
      idempotent: readOnly,
      ...o,
    });
    return toTxnResult(r, this.ks);
  }

  /** Drop history before `revision`. With `physical`, wait until the space is reclaimed. */
  async compact(revision: Revision, options: CallOptions & { physical?: boolean } = {}): Promise<void> {
    this.assertOpen();
    const rev = revisionString(revision);
    if (!rev || rev === '0') throw new InvalidArgumentError('compact needs a revision > 0');
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

  /**
   * Resolve once `key`, which existed at `startRevision - 1`, is deleted. Also resolves when it
   * was deleted (or replaced) in the meantime: the caller must read again, as it would after a
   * delete anyway. This is the wait of lock and election queues.
   *
   * The watch starts at the current revision rather than at `startRevision`: etcd serves a
   * watch that starts in the past from its catch-up loop, which runs every 100 ms, and under
   * contention that delay would dominate every hand-over. What the watch cannot cover (a delete
   * before it was created) is checked with one read once it is in place.
   */
  async waitForDelete(key: Bytes, options: { startRevision: Revision; signal?: AbortSignal }): Promise<void> {
    const since = BigInt(revisionString(options.startRevision, 'startRevision') ?? '0');
    const w = this.watch({
      key,
      filters: { noPut: true },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    try {
      await w.ready;
      const kv = await this.get(key, options.signal ? { signal: options.signal } : {});
      // Gone, or created again after `since`: it was deleted at some point.
      if (!kv || kv.createRevision >= since) return;
      // Events queue up from creation on, so none was lost during the read.
      for await (const ev of w) if (ev.type === 'delete') return;
    } catch (err) {
      if (err instanceof CompactedError) return;
      throw err;
    } finally {
      w.close();
    }
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
