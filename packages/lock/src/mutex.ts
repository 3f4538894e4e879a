import type { Etcd, Session } from '@etcdkit/core';
import { anyoneAhead, checkWaitOptions, takeTurn, type WaitOptions } from '@etcdkit/core/internal';
import { LockReleasedError } from './errors.js';
import { type InspectOptions, inspectMutex, type LockEntry, type LockQueue } from './inspect.js';
import { LockHandle } from './internal/lock-state.js';

/** What lock() takes: `signal` stops waiting (AbortError), `timeoutMs` gives up (LockTimeoutError). */
export type LockOptions = WaitOptions;

/**
 * A distributed mutex with the algorithm and key layout of etcd's Go `concurrency.Mutex`, so
 * it excludes `etcdctl lock <name>` and Go services too. The key is `<name>/<lease id in hex>`
 * on the session's lease; the owner is the key with the lowest create revision under
 * `<name>/`. Waiters get the lock in the order they arrived, and a crashed holder's key goes
 * with its lease.
 *
 * Not reentrant: one object holds the lock once, and a second object on the same session is
 * refused (LockHeldError) rather than silently sharing the session's key.
 *
 * @example
 * ```ts
 * const session = await etcd.session({ ttl: 10 });
 * const mutex = new Mutex(session, 'jobs/nightly');
 * await mutex.lock({ timeoutMs: 30_000 });
 * try {
 *   // guarded writes: only while this process still owns the lock
 *   await etcd.txn().if(mutex.isOwner()).then(op.put('reports/nightly/state', 'running')).commit();
 *   await runJob({ fencingToken: mutex.fencingToken, signal: mutex.signal });
 * } finally {
 *   await mutex.unlock();
 * }
 * ```
 */
export class Mutex extends LockHandle {
  /** `<name>/<lease id in lowercase hex>`, as etcdctl and Go write it. */
  readonly key: string;
  private readonly prefix: string;
  private readonly label: string;

  /** Who holds the lock `name` now (one read; nothing is acquired), or undefined when it is free. */
  static async holder(etcd: Etcd, name: string, options?: InspectOptions): Promise<LockEntry | undefined> {
    return (await inspectMutex(etcd, name, options)).holders[0];
  }

  /** Who waits for the lock `name`, in the order they will get it (the holder excluded). */
  static async waiters(etcd: Etcd, name: string, options?: InspectOptions): Promise<LockEntry[]> {
    return (await inspectMutex(etcd, name, options)).waiters;
  }

  /** Holder and waiters from one read, with its revision. */
  static inspect(etcd: Etcd, name: string, options?: InspectOptions): Promise<LockQueue> {
    return inspectMutex(etcd, name, options);
  }

  /**
   * A mutex named `name` on `session`: its key will be `<name>/<lease id in hex>`. Nothing is
   * written until {@link Mutex.lock} or {@link Mutex.tryLock}.
   *
   * @throws {@link @etcdkit/core!InvalidArgumentError} when `session` is not a Session or `name` is
   * not a non-empty string.
   */
  constructor(session: Session, name: string) {
    super(session, name, 'Mutex');
    this.prefix = `${name}/`;
    this.key = `${this.prefix}${session.lease.toString(16)}`;
    this.label = `mutex ${JSON.stringify(name)}`;
  }

  /**
   * Wait until the lock is mine: join the queue (one transaction that also reads the keys
   * ahead), then follow their deletions until none is left. On abort or timeout the waiter key
   * is removed so the queue moves on. Throws AbortError, LockTimeoutError, SessionExpiredError,
   * LockReleasedError (my waiter key was deleted by someone else) or LockHeldError (already
   * locked by this object or session).
   */
  async lock(options?: LockOptions): Promise<this> {
    checkWaitOptions(options, this.label);
    await this.take(true, options);
    return this;
  }

  /** Take the lock if it is free right now; otherwise leave the queue and return false. */
  tryLock(): Promise<boolean> {
    return this.take(false, undefined);
  }

  private take(wait: boolean, options: LockOptions | undefined): Promise<boolean> {
    return this.state.acquire(this.key, this.label, this.observed('mutex'), (observed) =>
      takeTurn(this.session, {
        observed,
        prefix: this.prefix,
        key: this.key,
        blocked: anyoneAhead,
        label: this.label,
        wait,
        options,
        keyGone: () =>
          new LockReleasedError(
            this.key,
            `${this.label}: the waiter key ${this.key} was deleted by someone else while waiting; lock again`,
          ),
      }),
    );
  }

  /**
   * Delete my key if it is still the one that won the lock. Throws LockReleasedError (or
   * SessionExpiredError) when ownership had been lost before: the guarded work may have
   * overlapped another owner's. Does nothing when not locked.
   */
  unlock(): Promise<void> {
    return this.state.release();
  }
}
