import { EtcdError } from '@etcdkit/core';

/**
 * lock() (or acquire()) did not get the lock within `timeoutMs`; its waiter key was removed.
 * This is core's DeadlineExceededError (code DEADLINE_EXCEEDED, reason 'lock-wait', `timeoutMs`
 * set, `operation` naming the lock): one timeout error for every wait in etcdkit.
 */
export { DeadlineExceededError as LockTimeoutError } from '@etcdkit/core';

/**
 * Ownership of a lock ended: its key was deleted or replaced by someone else (or removed by
 * unlock()). Work guarded by the lock must stop; a guarded txn with isOwner() will now fail.
 */
export class LockReleasedError extends EtcdError {
  declare readonly code: 'LOCK_RELEASED';
  /** The lock key that is gone. */
  readonly key: string;
  /**
   * `message` defaults to one saying the key was deleted by someone else and the guarded work must
   * stop.
   */
  constructor(key: string, message?: string, options?: { cause?: unknown }) {
    super(
      'LOCK_RELEASED',
      message ??
        `lock key ${key} was deleted by someone else: the lock is lost; stop the guarded work and lock again`,
      options,
    );
    this.key = key;
  }
}

/**
 * This session already holds (or waits for) the lock through another object, or this object is
 * already locked: etcd keys are per session, so two holders on one session would silently share
 * one key. Use one object per holder and a session each, or withLock() which queues callers.
 */
export class LockHeldError extends EtcdError {
  declare readonly code: 'LOCK_HELD';
  /** The lock key (`<name>/<lease id in hex>`) that is already held or awaited. */
  readonly key: string;
  /** `key`: the lock key already held or awaited; `message` says by what. */
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super('LOCK_HELD', message, options);
    this.key = key;
  }
}

/** fencingToken, isOwner(), signal or unlock() were used on a lock that is not held. */
export class LockNotHeldError extends EtcdError {
  declare readonly code: 'LOCK_NOT_HELD';
  /** `message` names what was used without the lock. */
  constructor(message: string, options?: { cause?: unknown }) {
    super('LOCK_NOT_HELD', message, options);
  }
}
