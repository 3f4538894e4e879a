import { type Etcd, InvalidArgumentError, type Session } from '@etcdkit/core';
import { checkWaitOptions, takeTurn } from '@etcdkit/core/internal';
import { LockReleasedError } from './errors.js';
import { type InspectOptions, inspectSemaphore, type LockEntry, type SemaphoreQueue } from './inspect.js';
import { LockHandle } from './internal/lock-state.js';
import type { LockOptions } from './mutex.js';

/**
 * A counting semaphore: at most `limit` holders at a time, admitted in arrival order.
 * Each session queues one key `<name>/<lease hex>` (its value is the limit, so users that
 * disagree on it are told); the holders are the `limit` keys with the lowest create revisions.
 * A waiter is admitted when fewer than `limit` keys remain ahead of it.
 */
export class Semaphore extends LockHandle {
  /** How many holders the semaphore admits at once. */
  readonly limit: number;
  /** `<name>/<lease id in lowercase hex>`. */
  readonly key: string;
  private readonly prefix: string;
  private readonly label: string;

  /** The holders of the semaphore `name` now: its `limit` oldest keys (limit read from them unless given). */
  static async holders(
    etcd: Etcd,
    name: string,
    options?: InspectOptions & { limit?: number },
  ): Promise<LockEntry[]> {
    return (await inspectSemaphore(etcd, name, options)).holders;
  }

  /** Who waits for a slot, in queue order. */
  static async waiters(
    etcd: Etcd,
    name: string,
    options?: InspectOptions & { limit?: number },
  ): Promise<LockEntry[]> {
    return (await inspectSemaphore(etcd, name, options)).waiters;
  }

  /** Holders, waiters and the limit from one read. */
  static inspect(
    etcd: Etcd,
    name: string,
    options?: InspectOptions & { limit?: number },
  ): Promise<SemaphoreQueue> {
    return inspectSemaphore(etcd, name, options);
  }

  /**
   * A semaphore named `name` admitting `limit` holders, on `session`. Every user of the name must
   * pass the same `limit`. Nothing is written until {@link Semaphore.acquire}.
   *
   * @throws {@link @etcdkit/core!InvalidArgumentError} for a bad session or name, or a `limit` that
   * is not a whole number >= 1.
   */
  constructor(session: Session, name: string, limit: number) {
    super(session, name, 'Semaphore');
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new InvalidArgumentError(`Semaphore limit must be a whole number >= 1, got ${limit}`);
    this.limit = limit;
    this.prefix = `${name}/`;
    this.key = `${this.prefix}${session.lease.toString(16)}`;
    this.label = `semaphore ${JSON.stringify(name)}`;
  }

  /** Wait for a slot. Same errors as Mutex.lock(). */
  async acquire(options?: LockOptions): Promise<this> {
    checkWaitOptions(options, this.label);
    await this.take(true, options);
    return this;
  }

  /** Take a slot if one is free right now; otherwise leave the queue and return false. */
  tryAcquire(): Promise<boolean> {
    return this.take(false, undefined);
  }

  private take(wait: boolean, options: LockOptions | undefined): Promise<boolean> {
    const value = String(this.limit);
    return this.state.acquire(this.key, this.label, this.observed('semaphore'), (observed) =>
      takeTurn(this.session, {
        observed,
        prefix: this.prefix,
        key: this.key,
        value,
        aheadValues: true,
        blocked: (ahead) => ahead.length >= this.limit,
        label: this.label,
        wait,
        options,
        joined: (t) => {
          const other = t.ahead.find((kv) => kv.value.length > 0 && kv.value.toString() !== value);
          if (other)
            throw new InvalidArgumentError(
              `${this.label} is used with limit ${other.value.toString()} by ${other.key.toString()}, and with ${value} here; ` +
                'every user of a semaphore must give the same limit',
            );
        },
        keyGone: () =>
          new LockReleasedError(
            this.key,
            `${this.label}: the waiter key ${this.key} was deleted by someone else while waiting; acquire again`,
          ),
      }),
    );
  }

  /** Give the slot back (guarded delete, as Mutex.unlock()). Does nothing when not held. */
  release(): Promise<void> {
    return this.state.release();
  }
}
