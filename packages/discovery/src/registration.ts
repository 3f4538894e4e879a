import {
  AbortError,
  ClientClosedError,
  compare,
  type Etcd,
  InvalidArgumentError,
  op,
  type Session,
  UnknownEtcdError,
} from '@etcdkit/core';
import { Backoff, type BackoffOptions, logOf, MAX_TIMER_MS, sleep } from '@etcdkit/core/internal';
import { EventEmitter } from 'eventemitter3';
import { publish } from './diagnostics.js';
import { RegistrationClosedError } from './errors.js';
import { checkMetadata, encodeEndpoint, type Metadata } from './format.js';
import { checkClient, checkService, servicePrefix } from './names.js';

/** Options of {@link register}. Checked at the call: a bad one rejects with an InvalidArgumentError. */
export interface RegisterOptions {
  /** The service name; the instance's key is `<service>/<id>`. May contain "/" ("prod/billing"). */
  service: string;
  /** Where clients reach this instance: `host:port` for gRPC (what Go's resolver dials). */
  address: string;
  /** Unique within the service, no "/". Default: the address. */
  id?: string;
  /** A plain JSON object published with the instance (zone, version, weight…). */
  metadata?: Metadata;
  /** Lease TTL in seconds: how long a crashed instance stays listed at most. Default 10. */
  ttl?: number;
  /** Aborts the first registration (register() then rejects with an AbortError). Use close() later. */
  signal?: AbortSignal;
  /** Delays between re-registration attempts (exponential, full jitter). Default base 100 ms, cap 5 s. */
  backoff?: BackoffOptions;
}

/** registered: the key is in etcd under a live session. reregistering: the session was lost; trying again. */
export type RegistrationState = 'registered' | 'reregistering' | 'closed';

/** The payload of a registration's `reregistered` event. */
export interface ReregisteredEvent {
  /** The new session's lease. */
  lease: bigint;
  /** Attempts it took, the successful one included. */
  attempts: number;
  /** From the loss of the old session to the new key being written. */
  downtimeMs: number;
}

/** Events of a {@link Registration} (an eventemitter3 emitter): `reg.on('lost', (err) => ...)`. */
export interface RegistrationEvents {
  /** The session was lost (partition, etcd restart, lease expired); re-registration starts at once. */
  lost: [error: Error];
  /** The instance is registered again, on a fresh session. */
  reregistered: [event: ReregisteredEvent];
  /** A re-registration attempt failed; the next one follows after `delayMs`. */
  retry: [error: Error, attempt: number, delayMs: number];
  /** drain() was called: the instance is (or, once registered again, will be) marked draining. */
  draining: [];
  /** The registration ended: close() (no error), or its client was closed (ClientClosedError). */
  closed: [error?: Error];
  /** Something failed that the registration works around (revoking a lost lease). */
  error: [error: Error];
}

const DEFAULT_TTL = 10;
const MAX_TTL = Math.floor(MAX_TIMER_MS / 1000);

/**
 * One instance of a service in etcd, kept under a session: the key `<service>/<id>` is
 * attached to the session's lease, so it disappears when the process dies (after at most
 * `ttl` seconds) or at once on close(). When the session is lost while the process lives, the
 * instance registers itself again on a fresh session, retrying with backoff until it works
 * or close() is called.
 */
export class Registration extends EventEmitter<RegistrationEvents> implements AsyncDisposable {
  /** The service name. */
  readonly service: string;
  /** The instance ID, unique within the service. */
  readonly id: string;
  /** Where clients reach this instance. */
  readonly address: string;
  /** The instance's key, relative to the client (or namespace view) it was registered with. */
  readonly key: string;
  /** The lease TTL asked for, seconds. */
  readonly ttl: number;
  /** The metadata published with the instance, if any. */
  readonly metadata: Metadata | undefined;
  private readonly etcd: Etcd;
  private readonly backoffOptions: BackoffOptions;
  private readonly stop = new AbortController();
  private readonly stopped: Promise<void>;
  private session: Session | undefined;
  private current: RegistrationState = 'registered';
  private isDraining = false;
  private loop: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  /** @internal use register() */
  constructor(
    etcd: Etcd,
    o: Required<Pick<RegisterOptions, 'service' | 'address' | 'id' | 'ttl'>> & RegisterOptions,
  ) {
    super();
    this.etcd = etcd;
    this.service = o.service;
    this.id = o.id;
    this.address = o.address;
    this.key = servicePrefix(o.service) + o.id;
    this.ttl = o.ttl;
    this.metadata = o.metadata;
    this.backoffOptions = { baseMs: 100, capMs: 5000, ...o.backoff };
    this.stopped = new Promise((resolve) =>
      this.stop.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
  }

  /** registered, reregistering (after a lost session) or closed; see {@link RegistrationState}. */
  get state(): RegistrationState {
    return this.current;
  }

  /** The lease the key is attached to now; undefined while re-registering or closed. */
  get lease(): bigint | undefined {
    return this.current === 'registered' ? this.session?.lease : undefined;
  }

  /** True once drain() was called. */
  get draining(): boolean {
    return this.isDraining;
  }

  /** @internal */
  async start(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw new AbortError('register() was aborted', { cause: signal.reason });
    const s = await this.etcd.session({ ttl: this.ttl, ...(signal ? { signal } : {}) });
    try {
      await this.write(s, signal);
    } catch (err) {
      // Revoking removes a key the put may have written before failing; if the revoke fails
      // too, the lease (and the key) expire by themselves within ttl.
      await s.close().catch(() => {});
      if (signal?.aborted) throw new AbortError('register() was aborted', { cause: signal.reason });
      throw err;
    }
    this.session = s;
    publish({ type: 'registered', service: this.service, id: this.id, key: this.key, lease: s.lease });
    this.loop = this.keep();
  }

  private value(): Buffer {
    return encodeEndpoint(this.address, this.metadata, this.isDraining);
  }

  private async write(s: Session, signal: AbortSignal | undefined): Promise<void> {
    await this.etcd.put(this.key, this.value(), { lease: s.lease, ...(signal ? { signal } : {}) });
  }

  /** Follows the session; when it is lost, registers again on a new one. */
  private async keep(): Promise<void> {
    for (;;) {
      const old = this.session!;
      await Promise.race([old.closed, this.stopped]);
      if (this.stop.signal.aborted) return;
      const lostAt = Date.now();
      const error =
        old.signal.reason instanceof Error
          ? old.signal.reason
          : new UnknownEtcdError(String(old.signal.reason), { cause: old.signal.reason });
      this.current = 'reregistering';
      publish({ type: 'lost', service: this.service, id: this.id, key: this.key, lease: old.lease, error });
      this.emit('lost', error);
      const attempts = await this.reregister();
      if (attempts === undefined) return;
      const lease = this.session!.lease;
      // The key now hangs on the new lease; the old one holds nothing, so revoking it is only tidying.
      old.close().catch((err: unknown) => this.fail(err));
      const downtimeMs = Date.now() - lostAt;
      publish({
        type: 'reregistered',
        service: this.service,
        id: this.id,
        key: this.key,
        lease,
        attempts,
        downtimeMs,
      });
      this.emit('reregistered', { lease, attempts, downtimeMs });
    }
  }

  /** Something worked around failed: an 'error' event, or the client's logger when nobody listens. */
  private fail(err: unknown): void {
    const e = err instanceof Error ? err : new UnknownEtcdError(String(err), { cause: err });
    if (this.emit('error', e)) return;
    const log = logOf(this.etcd);
    if (log.enabled)
      log.warn(
        `registration-error:${this.key}`,
        { service: this.service, id: this.id, err: e },
        `etcdkit: registration ${this.key}: ${e.message}`,
      );
  }

  /** A fresh session and the key on it; the number of attempts, or undefined when stopped. */
  private async reregister(): Promise<number | undefined> {
    const backoff = new Backoff(this.backoffOptions);
    for (let attempt = 1; ; attempt++) {
      if (this.stop.signal.aborted) return undefined;
      let s: Session | undefined;
      try {
        s = await this.etcd.session({ ttl: this.ttl, signal: this.stop.signal });
        await this.write(s, this.stop.signal);
        if (this.stop.signal.aborted) throw this.stop.signal.reason;
        this.session = s;
        this.current = 'registered';
        return attempt;
      } catch (err) {
        // Revoking removes a key the put may have written; failing that, the lease expires within ttl.
        if (s) await s.close().catch((e: unknown) => this.fail(e));
        if (this.stop.signal.aborted) return undefined;
        if (err instanceof ClientClosedError) {
          this.end(err);
          return undefined;
        }
        const error = err instanceof Error ? err : new UnknownEtcdError(String(err), { cause: err });
        const delayMs = backoff.next();
        publish({
          type: 'retry',
          service: this.service,
          id: this.id,
          key: this.key,
          attempt,
          delayMs,
          error,
        });
        this.emit('retry', error, attempt, delayMs);
        await sleep(delayMs, this.stop.signal);
      }
    }
  }

  /** The client was closed under the registration (its sessions were revoked with it). */
  private end(err: Error): void {
    this.current = 'closed';
    this.session = undefined;
    this.stop.abort(err);
    publish({ type: 'deregistered', service: this.service, id: this.id, key: this.key, error: err });
    this.emit('closed', err);
  }

  /**
   * Mark the instance as leaving: its value is rewritten with the draining mark, so discovery
   * and the grpc-js resolver stop handing it out while it finishes its work; close() then
   * removes it. Resolves once the mark is written (or, while re-registering, at once: the
   * re-registration writes it).
   */
  async drain(): Promise<void> {
    if (this.current === 'closed') throw new RegistrationClosedError(this.key);
    if (!this.isDraining) {
      this.isDraining = true;
      publish({ type: 'draining', service: this.service, id: this.id, key: this.key });
      this.emit('draining');
    }
    const s = this.session;
    if (this.current !== 'registered' || !s || s.expired) return;
    // Only while the key hangs on this session: a late write must not move it back to a lost lease.
    await this.etcd
      .txn()
      .if(compare.lease(this.key, '==', s.lease))
      .then(op.put(this.key, this.value(), { lease: s.lease }))
      .commit();
  }

  /**
   * Remove the instance at once (the session's lease is revoked, deleting the key) and stop
   * re-registering. Rejects if etcd could not be told; the key then expires within ttl.
   * Safe to call twice.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.current === 'closed') return;
      this.stop.abort(new AbortError('the registration was closed'));
      await this.loop;
      const s = this.session;
      this.session = undefined;
      this.current = 'closed';
      let error: Error | undefined;
      try {
        await s?.close();
      } catch (err) {
        error = err instanceof Error ? err : new UnknownEtcdError(String(err), { cause: err });
      }
      publish({
        type: 'deregistered',
        service: this.service,
        id: this.id,
        key: this.key,
        ...(error ? { error } : {}),
      });
      this.emit('closed');
      if (error) throw error;
    })();
    return this.closing;
  }

  /** Same as close(), for `await using reg = await register(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Register an instance of `service` at `address`, kept under a session of `ttl` seconds, and
 * re-registered by itself whenever that session is lost. Resolves once the key is written.
 */
export async function register(etcd: Etcd, options: RegisterOptions): Promise<Registration> {
  checkClient(etcd, 'register()');
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError('register() needs options { service, address, id?, metadata?, ttl? }');
  const { service, address, id, metadata, ttl = DEFAULT_TTL, signal, backoff } = options;
  checkService(service, 'register()');
  if (typeof address !== 'string' || address.trim() === '' || /\s/.test(address))
    throw new InvalidArgumentError(
      `address must be a non-empty string without spaces, e.g. "10.0.0.7:50051", got ${JSON.stringify(address)}`,
    );
  if (id !== undefined && (typeof id !== 'string' || id === '' || id.includes('/')))
    throw new InvalidArgumentError(`id must be a non-empty string without "/", got ${JSON.stringify(id)}`);
  if (id === undefined && address.includes('/'))
    throw new InvalidArgumentError(
      `address ${JSON.stringify(address)} contains "/", so it cannot be the id: give an id (unique within the service)`,
    );
  checkMetadata(metadata);
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL)
    throw new InvalidArgumentError(
      `ttl must be a whole number of seconds from 1 to ${MAX_TTL}, got ${String(ttl)}`,
    );
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new InvalidArgumentError('signal must be an AbortSignal');
  if (backoff !== undefined) {
    if (typeof backoff !== 'object' || backoff === null)
      throw new InvalidArgumentError('backoff must be an object { baseMs?, capMs? }');
    for (const k of ['baseMs', 'capMs'] as const) {
      const v = backoff[k];
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 1 || v > MAX_TIMER_MS))
        throw new InvalidArgumentError(
          `backoff.${k} must be a number of milliseconds from 1 to ${MAX_TIMER_MS}, got ${String(v)}`,
        );
    }
  }
  const reg = new Registration(etcd, { ...options, service, address, id: id ?? address, ttl });
  await reg.start(signal);
  return reg;
}
