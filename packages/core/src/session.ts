import { diagnostics } from './diagnostics.js';
import { ClientClosedError, SessionExpiredError } from './errors.js';
import type { Etcd } from './etcd.js';
import { logOf } from './internal/log.js';
import type { Lease } from './lease.js';

const channel = diagnostics.session;

/** Options of {@link Etcd.session}. */
export interface SessionOptions {
  /** Lease TTL in seconds. Default 60, as etcd's own sessions. */
  ttl?: number;
  /** Fails session creation when aborted. */
  signal?: AbortSignal;
  /**
   * Fails session creation (the lease grant) after this many milliseconds; default: the client's
   * requestTimeoutMs.
   */
  timeoutMs?: number;
}

/**
 * A lease kept alive for as long as the session lives: the base of locks and elections.
 * `signal` aborts when the lease is lost (at the local deadline, before etcd expires it) or
 * the session is closed. `close()` revokes the lease, which deletes every key attached to it.
 */
export class Session {
  /** The client (or namespace view) the session was made from; primitives use it for their keys. */
  readonly client: Etcd;
  /**
   * The underlying {@link Lease}, e.g. to attach keys of your own (`{ lease: session.lease }` does
   * the same) or to listen to its `keepalive` events.
   */
  readonly leaseHandle: Lease;
  private readonly controller = new AbortController();
  private readonly closedPromise: Promise<SessionExpiredError>;
  private closing: Promise<void> | undefined;
  private closeCalled = false;
  private readonly onRelease: () => void;

  private constructor(client: Etcd, lease: Lease, onRelease: () => void) {
    this.client = client;
    this.leaseHandle = lease;
    this.onRelease = onRelease;
    if (channel.hasSubscribers) channel.publish({ type: 'granted', lease: lease.id, ttl: lease.ttl });
    this.closedPromise = new Promise((resolve) => {
      const done = () => {
        const cause = lease.signal.reason as Error;
        const err = new SessionExpiredError(lease.id, undefined, { cause });
        if (!this.controller.signal.aborted) this.controller.abort(err);
        this.onRelease();
        this.ended(cause);
        resolve(err);
      };
      if (lease.lost) done();
      else lease.signal.addEventListener('abort', done, { once: true });
    });
  }

  /** The lease ID: also the suffix (in hex) of lock and election keys. */
  get lease(): bigint {
    return this.leaseHandle.id;
  }

  /** Seconds granted by etcd on the last keepalive (the session's TTL). */
  get ttl(): number {
    return this.leaseHandle.ttl;
  }

  /** Aborts when the session is over; the reason is a SessionExpiredError. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once the session is over (lease lost or session closed). */
  get expired(): boolean {
    return this.controller.signal.aborted;
  }

  /** Resolves (never rejects) when the session ends, with the reason. */
  get closed(): Promise<SessionExpiredError> {
    return this.closedPromise;
  }

  /** Revoke the lease (deleting the session's keys) and end the session. Safe to call twice. */
  close(): Promise<void> {
    this.closeCalled = true;
    this.closing ??= this.leaseHandle.revoke({ timeoutMs: 5000 });
    return this.closing;
  }

  /** The lease ended: by close() (revoked), or not (lost: the reason says why). */
  private ended(cause: Error): void {
    const lease = this.leaseHandle.id;
    if (this.closeCalled) {
      if (channel.hasSubscribers) channel.publish({ type: 'revoked', lease });
      return;
    }
    if (channel.hasSubscribers) channel.publish({ type: 'lost', lease, error: cause });
    // A session ended by closing the client is no news (the lease says so with its cause).
    if (cause instanceof ClientClosedError || cause?.cause instanceof ClientClosedError) return;
    const log = logOf(this.client);
    if (log.enabled)
      log.warn(
        `session-lost:${lease.toString(16)}`,
        { lease: lease.toString(16), err: cause },
        `etcdkit: session ${lease.toString(16)} was lost: ${cause?.message ?? 'unknown reason'}`,
      );
  }

  /** Same as {@link Session.close}, for `await using session = await etcd.session()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Makes a session (for etcd.session()); Session's constructor is not public. */
export function newSession(client: Etcd, lease: Lease, onRelease: () => void): Session {
  return new (Session as unknown as new (c: Etcd, l: Lease, r: () => void) => Session)(
    client,
    lease,
    onRelease,
  );
}
