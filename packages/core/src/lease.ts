import { EventEmitter } from 'eventemitter3';
import { diagnostics } from './diagnostics.js';
import {
  ClientClosedError,
  DeadlineExceededError,
  InvalidArgumentError,
  InvalidTokenError,
  LeaseExpiredError,
  LeaseNotFoundError,
  UnavailableError,
  UnknownEtcdError,
} from './errors.js';
import { Backoff } from './internal/backoff.js';
import type { CallOptions, Connection } from './internal/connection.js';
import { toEtcdError } from './internal/error-map.js';
import { logOf } from './internal/log.js';
import { type LongTimer, longTimer } from './internal/timers.js';
import type { StreamCall } from './internal/transport.js';
import type {
  WireLeaseGrantResponse,
  WireLeaseKeepAliveResponse,
  WireLeaseLeasesResponse,
  WireLeaseTimeToLiveResponse,
} from './internal/wire.js';

/** Events of a {@link Lease} (an eventemitter3 emitter): `lease.on('lost', (err) => ...)`. */
export interface LeaseEvents {
  /** The lease is lost: its local deadline passed, or etcd says it expired. */
  lost: [error: LeaseExpiredError];
  /** A keepalive succeeded; etcd granted `ttl` more seconds. */
  keepalive: [ttl: number];
}

/** What {@link Lease.timeToLive} resolves with: etcd's view of the lease. */
export interface LeaseTimeToLive {
  /** Seconds left; -1 when the lease no longer exists. */
  ttl: number;
  /** The TTL the lease was granted with, in seconds. */
  grantedTtl: number;
  /**
   * The keys attached to the lease, as etcd stores them (a namespace prefix included), when asked
   * with `{ keys: true }`; otherwise empty.
   */
  keys: Buffer[];
}

/** Options of `etcd.lease.grant(ttl, options)`. */
export interface GrantOptions extends CallOptions {
  /** Ask for this lease ID (1 to 2^63 - 1) instead of letting etcd pick one. */
  id?: bigint;
  /** Keep the lease alive automatically (same as calling keepAlive()). Default false. */
  keepAlive?: boolean;
}

/** etcd's largest lease TTL, in seconds (`MaxLeaseTTL` of etcd's lessor; larger grants fail). */
export const MAX_LEASE_TTL = 9_000_000_000;

const MAX_INT64 = 2n ** 63n - 1n;

/** A lease TTL: whole seconds from 1 to etcd's maximum; `name` is the argument as the caller knows it. */
export function checkTtl(ttl: unknown, name = 'ttl'): number {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_LEASE_TTL)
    throw new InvalidArgumentError(
      `${name} must be a whole number of seconds from 1 to ${MAX_LEASE_TTL} (etcd's largest lease TTL), got ${describe(ttl)}`,
    );
  return ttl;
}

/** A lease ID: a bigint from 1 to 2^63 - 1 (etcd's IDs are positive int64). */
export function checkLeaseId(id: unknown, name = 'lease id'): bigint {
  if (typeof id !== 'bigint' || id < 1n || id > MAX_INT64)
    throw new InvalidArgumentError(
      `${name} must be a bigint from 1 to 2^63 - 1 (an int64 lease ID as etcd returns it), got ${describe(id)}`,
    );
  return id;
}

function describe(v: unknown): string {
  return typeof v === 'bigint' ? `${v}n` : typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/**
 * A granted lease. Its `signal` aborts the moment the lease can no longer be trusted: at the
 * local deadline (last successful keepalive + ttl, minus a safety margin), when etcd reports it
 * gone, or when it is revoked. Keys attached to it vanish when etcd expires it.
 */
export class Lease extends EventEmitter<LeaseEvents> {
  /**
   * The lease ID etcd assigned (a positive int64). Pass it as `{ lease: id }` to {@link Etcd.put}
   * to attach keys.
   */
  readonly id: bigint;
  readonly #record: LeaseRecord;

  private constructor(record: LeaseRecord) {
    super();
    this.id = record.id;
    this.#record = record;
  }

  /** Seconds granted by etcd on the last grant or keepalive. */
  get ttl(): number {
    return this.#record.ttl;
  }

  /** Aborts when the lease is lost or revoked; the reason is a LeaseExpiredError. */
  get signal(): AbortSignal {
    return this.#record.controller.signal;
  }

  /** True once the lease is lost or revoked (its `signal` has aborted). */
  get lost(): boolean {
    return this.#record.lost;
  }

  /** Milliseconds until the local deadline at which the lease is declared lost. */
  get remainingMs(): number {
    return this.#record.remainingMs();
  }

  /** When the keepalive that last extended the lease was sent (or the grant, before any): ms since the epoch. */
  get renewedAt(): number {
    return this.#record.renewedAt;
  }

  /** Keep the lease alive until revoke(), sharing the client's keepalive stream. Resolves after the first keepalive. */
  keepAlive(): Promise<number> {
    return this.#record.keepAlive();
  }

  /** One keepalive now, without a stream; returns the granted TTL. */
  keepAliveOnce(options?: CallOptions): Promise<number> {
    return this.#record.keepAliveOnce(options);
  }

  /** Revoke the lease: its keys are deleted and its signal aborts. Revoking a lost lease is not an error. */
  async revoke(options?: CallOptions): Promise<void> {
    const r = this.#record;
    r.stop(new LeaseExpiredError(this.id, `lease ${this.id.toString(16)} was revoked`));
    await r.manager.revoke(this.id, options);
  }

  /**
   * Ask etcd how long the lease has left.
   *
   * @returns the remaining and granted TTL in seconds (`ttl` is -1 once the lease is gone), and its
   * keys when `keys` is set.
   */
  timeToLive(options?: CallOptions & { keys?: boolean }): Promise<LeaseTimeToLive> {
    return this.#record.manager.timeToLive(this.id, options);
  }
}

/** Makes the façade of a record; Lease's constructor is not public. */
const newLease = (r: LeaseRecord): Lease => new (Lease as unknown as new (r: LeaseRecord) => Lease)(r);

/**
 * What the manager knows of one lease: its deadline, the keepalives awaiting an answer and its
 * timers. Only the manager and the record change it; the user sees it through its Lease.
 */
class LeaseRecord {
  readonly id: bigint;
  readonly manager: LeaseManager;
  readonly facade: Lease;
  readonly controller = new AbortController();
  ttl: number;
  /** Local time (ms) after which the lease counts as lost. */
  deadline: number;
  /** Local time (ms) of the grant or of the keepalive that last extended the deadline. */
  renewedAt: number;
  /** Send times of keepalives awaiting an answer, oldest first. */
  pending: number[] = [];
  keptAlive = false;
  /** The next keepalive, or the wait for the answer to the last one. */
  sendTimer: LongTimer | undefined;
  private lostTimer: LongTimer | undefined;
  private firstKeepAlive: { resolve: (ttl: number) => void; reject: (e: Error) => void }[] = [];

  constructor(manager: LeaseManager, id: bigint, ttl: number, grantedAt: number) {
    this.manager = manager;
    this.id = id;
    this.ttl = ttl;
    this.deadline = grantedAt + ttl * 1000;
    this.renewedAt = grantedAt;
    this.facade = newLease(this);
    this.armLostTimer();
  }

  get lost(): boolean {
    return this.controller.signal.aborted;
  }

  remainingMs(): number {
    return Math.max(0, this.deadline - this.manager.marginMs(this.ttl) - Date.now());
  }

  keepAlive(): Promise<number> {
    if (this.lost) return Promise.reject(this.controller.signal.reason as Error);
    const p = new Promise<number>((resolve, reject) => this.firstKeepAlive.push({ resolve, reject }));
    if (!this.keptAlive) {
      this.keptAlive = true;
      this.manager.track(this);
    }
    return p;
  }

  async keepAliveOnce(options?: CallOptions): Promise<number> {
    const sent = Date.now();
    try {
      const ttl = await this.manager.keepAliveOnce(this.id, options);
      this.refreshed(sent, ttl);
      return ttl;
    } catch (err) {
      if (err instanceof LeaseNotFoundError)
        this.stop(
          new LeaseExpiredError(this.id, `lease ${this.id.toString(16)} expired on the etcd server`, {
            cause: err,
          }),
        );
      throw err;
    }
  }

  /** A keepalive sent at `sentAt` was answered with `ttl`. */
  refreshed(sentAt: number, ttl: number): void {
    if (this.lost) return;
    if (ttl <= 0) {
      this.stop(new LeaseExpiredError(this.id, `lease ${this.id.toString(16)} expired on the etcd server`));
      return;
    }
    this.ttl = ttl;
    this.deadline = Math.max(this.deadline, sentAt + ttl * 1000);
    if (sentAt > this.renewedAt) this.renewedAt = sentAt;
    this.armLostTimer();
    if (diagnostics.session.hasSubscribers)
      diagnostics.session.publish({
        type: 'keepalive',
        lease: this.id,
        ttl,
        remainingMs: this.remainingMs(),
      });
    for (const w of this.firstKeepAlive.splice(0)) w.resolve(ttl);
    this.facade.emit('keepalive', ttl);
  }

  private armLostTimer(): void {
    this.lostTimer?.clear();
    // A long TTL (days or more) is past what one Node timer can wait: longTimer chains them.
    // The deadline alone must not keep a process alive.
    this.lostTimer = longTimer(() => this.stop(new LeaseExpiredError(this.id)), this.remainingMs(), {
      unref: true,
    });
  }

  /** End the lease locally: abort the signal, stop timers and keepalives. */
  stop(reason: LeaseExpiredError): void {
    if (this.lost) return;
    this.lostTimer?.clear();
    this.sendTimer?.clear();
    this.manager.untrack(this);
    this.controller.abort(reason);
    for (const w of this.firstKeepAlive.splice(0)) w.reject(reason);
    this.facade.emit('lost', reason);
  }
}

/**
 * All leases of one client. Kept-alive leases share one LeaseKeepAlive stream; each lease is
 * refreshed every ttl/3 and the stream is re-opened (on any endpoint) when it breaks.
 */
export class LeaseManager {
  private readonly conn: Connection;
  private readonly tracked = new Map<bigint, LeaseRecord>();
  private stream: StreamCall<{ ID: string }, WireLeaseKeepAliveResponse> | undefined;
  private streamIndex = 0;
  private opening: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff({ baseMs: 100, capMs: 1000 });
  private closed = false;

  constructor(conn: Connection) {
    this.conn = conn;
  }

  marginMs(ttl: number): number {
    return this.conn.options.leaseSafetyMarginMs ?? Math.min(1000, (ttl * 1000) / 10);
  }

  async grant(ttl: number, options: GrantOptions = {}): Promise<Lease> {
    checkTtl(ttl);
    if (options.id !== undefined) checkLeaseId(options.id, 'id');
    const sent = Date.now();
    const res = await this.conn.unary<{ TTL: string; ID: string }, WireLeaseGrantResponse>(
      'Lease',
      'LeaseGrant',
      { TTL: String(ttl), ID: (options.id ?? 0n).toString() },
      // A grant without an ID creates a new lease each time: not safe to repeat.
      { idempotent: options.id !== undefined, ...options },
    );
    if (res.error) throw new UnknownEtcdError(`lease grant failed: ${res.error}`);
    const lease = new LeaseRecord(this, BigInt(res.ID), Number(res.TTL), sent);
    if (options.keepAlive) await lease.keepAlive();
    return lease.facade;
  }

  async revoke(id: bigint, options?: CallOptions): Promise<void> {
    checkLeaseId(id);
    try {
      await this.conn.unary(
        'Lease',
        'LeaseRevoke',
        { ID: id.toString() },
        { idempotent: true, ...options, context: { leaseId: id } },
      );
    } catch (err) {
      // Revoking a lease that already expired (or a retried revoke) reaches the same end state.
      if (!(err instanceof LeaseNotFoundError)) throw err;
    }
  }

  async timeToLive(id: bigint, options?: CallOptions & { keys?: boolean }): Promise<LeaseTimeToLive> {
    checkLeaseId(id);
    const r = await this.conn.unary<{ ID: string; keys: boolean }, WireLeaseTimeToLiveResponse>(
      'Lease',
      'LeaseTimeToLive',
      { ID: id.toString(), keys: options?.keys ?? false },
      { idempotent: true, ...options, context: { leaseId: id } },
    );
    return { ttl: Number(r.TTL), grantedTtl: Number(r.grantedTTL), keys: r.keys };
  }

  async list(options?: CallOptions): Promise<bigint[]> {
    const r = await this.conn.unary<object, WireLeaseLeasesResponse>(
      'Lease',
      'LeaseLeases',
      {},
      { idempotent: true, ...options },
    );
    return r.leases.map((l) => BigInt(l.ID));
  }

  /** A single keepalive over a short-lived stream (etcd has no unary keepalive). */
  async keepAliveOnce(id: bigint, options?: CallOptions): Promise<number> {
    checkLeaseId(id);
    const { call } = await this.conn.openStream<{ ID: string }, WireLeaseKeepAliveResponse>(
      'Lease',
      'LeaseKeepAlive',
      options,
    );
    try {
      return await new Promise<number>((resolve, reject) => {
        const ms = options?.timeoutMs ?? this.conn.options.requestTimeoutMs;
        const timer = setTimeout(
          () =>
            reject(
              new DeadlineExceededError(`lease keepalive got no answer within ${ms} ms`, {
                reason: 'keepalive',
                operation: 'Lease.LeaseKeepAlive',
                timeoutMs: ms,
              }),
            ),
          ms,
        );
        call.once('data', (r: WireLeaseKeepAliveResponse) => {
          clearTimeout(timer);
          const ttl = Number(r.TTL);
          if (ttl <= 0) reject(new LeaseNotFoundError(id));
          else resolve(ttl);
        });
        call.once('error', (e) => {
          clearTimeout(timer);
          reject(toEtcdError(e, { method: 'Lease.LeaseKeepAlive', leaseId: id }));
        });
        call.write({ ID: id.toString() });
      });
    } finally {
      call.on('error', () => {}); // the cancel below surfaces as a CANCELLED error we asked for
      call.cancel();
    }
  }

  track(lease: LeaseRecord): void {
    if (this.closed) {
      lease.stop(
        new LeaseExpiredError(lease.id, 'the etcd client was closed', { cause: new ClientClosedError() }),
      );
      return;
    }
    this.tracked.set(lease.id, lease);
    this.send(lease);
  }

  untrack(lease: LeaseRecord): void {
    if (this.tracked.get(lease.id) !== lease) return;
    this.tracked.delete(lease.id);
    lease.sendTimer?.clear();
    if (this.tracked.size === 0) this.closeStream();
  }

  private send(lease: LeaseRecord): void {
    lease.sendTimer?.clear();
    if (lease.lost || !this.tracked.has(lease.id)) return;
    if (!this.stream) {
      this.open();
      return; // all tracked leases are sent once the stream is up
    }
    const sentAt = Date.now();
    lease.pending.push(sentAt);
    this.stream.write({ ID: lease.id.toString() });
    // An answer normally comes within milliseconds. One missing for a sixth of the ttl (0.5 to 2 s)
    // means the connection went silent, a partition gRPC pings would notice only much later: move
    // the stream to another member now, while the lease can still be saved. The answer, when it
    // comes, replaces this timer with the one for the next keepalive.
    const answerTimeoutMs = Math.min(2000, Math.max(500, (lease.ttl * 1000) / 6));
    lease.sendTimer = longTimer(() => {
      if (lease.pending.includes(sentAt)) this.stalled();
    }, answerTimeoutMs);
  }

  private schedule(lease: LeaseRecord, ms: number): void {
    lease.sendTimer?.clear();
    // ttl/3 of a long lease is past one Node timer's reach; longTimer chains.
    lease.sendTimer = longTimer(() => this.send(lease), ms);
  }

  private open(): void {
    if (this.opening || this.stream || this.closed) return;
    this.opening = this.conn
      .openStream<{ ID: string }, WireLeaseKeepAliveResponse>('Lease', 'LeaseKeepAlive', {
        requireLeader: true,
      })
      .then(({ call, index }) => {
        this.opening = undefined;
        if (this.closed || this.tracked.size === 0) {
          call.on('error', () => {}); // cancelled by us
          call.cancel();
          return;
        }
        this.stream = call;
        this.streamIndex = index;
        this.backoff.reset();
        call.on('data', (r: WireLeaseKeepAliveResponse) => this.onResponse(r));
        const broken = (err: unknown) => {
          if (this.stream !== call) return;
          this.stream = undefined;
          const e = toEtcdError(err ?? new UnavailableError('etcd ended the lease keepalive stream'), {
            method: 'Lease.LeaseKeepAlive',
          });
          if (e instanceof InvalidTokenError) this.conn.invalidateToken();
          else this.conn.reportFailure(index, e);
          this.retry(e);
        };
        call.on('error', broken);
        call.on('end', () => broken(undefined));
        for (const lease of this.tracked.values()) {
          lease.pending = [];
          this.send(lease);
        }
      })
      .catch((err: unknown) => {
        // Could not connect yet: leases stay tracked and their deadlines keep running; try again.
        this.opening = undefined;
        this.retry(err);
      });
  }

  private stalled(): void {
    const s = this.stream;
    if (!s) return;
    this.stream = undefined;
    s.on('error', () => {}); // cancelled by us below
    s.cancel();
    this.conn.reportFailure(
      this.streamIndex,
      new UnavailableError('the lease keepalive stream stopped answering'),
    );
    this.open();
  }

  private retry(error?: unknown): void {
    if (this.closed || this.tracked.size === 0 || this.retryTimer) return;
    const delayMs = this.backoff.next();
    const attempt = this.backoff.attempts;
    if (diagnostics.connection.hasSubscribers)
      diagnostics.connection.publish({
        type: 'retry',
        operation: 'Lease.LeaseKeepAlive',
        attempt,
        delayMs,
        error,
      });
    const log = logOf(this.conn.options);
    if (log.enabled)
      log.warn(
        'keepalive-stream',
        { leases: this.tracked.size, attempt, delayMs, err: error },
        `etcdkit: the lease keepalive stream is down${error instanceof Error ? ` (${error.message})` : ''}; retrying with backoff`,
      );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.open();
    }, delayMs);
  }

  private onResponse(r: WireLeaseKeepAliveResponse): void {
    const lease = this.tracked.get(BigInt(r.ID));
    if (!lease) return;
    const sentAt = lease.pending.shift() ?? Date.now();
    const ttl = Number(r.TTL);
    this.conn.rpcHealth.lastSuccessAt = Date.now();
    lease.refreshed(sentAt, ttl);
    if (!lease.lost) this.schedule(lease, (ttl * 1000) / 3 - (Date.now() - sentAt));
  }

  private closeStream(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const s = this.stream;
    this.stream = undefined;
    if (s) {
      s.on('error', () => {}); // the cancel below surfaces as a CANCELLED error we asked for
      s.cancel();
    }
  }

  close(): void {
    this.closed = true;
    for (const lease of [...this.tracked.values()])
      lease.stop(
        new LeaseExpiredError(lease.id, 'the etcd client was closed; the lease is no longer kept alive', {
          cause: new ClientClosedError(),
        }),
      );
    this.closeStream();
  }
}
