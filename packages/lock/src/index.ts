/**
 * Distributed locks on etcd: a fair, fenced {@link Mutex}, a {@link RWMutex}, a counting
 * {@link Semaphore}, {@link withLock} / {@link withLocks} for the common case and {@link lockAll}
 * for several locks at once. Keys use the layout of etcd's Go `concurrency.Mutex`, so locks are
 * shared with `etcdctl lock` and Go services.
 *
 * @example
 * ```ts
 * import { withLock } from '@etcdkit/lock';
 *
 * await withLock(etcd, 'nightly-report', async ({ fencingToken, signal }) => {
 *   await writeReport({ fencingToken, signal }); // stop when `signal` aborts: the lock is lost
 * });
 * ```
 *
 * @module @etcdkit/lock
 */

// Also thrown by lock(); re-exported so callers can test for them without importing core.
export { AbortError, SessionExpiredError } from '@etcdkit/core';
export { LockHeldError, LockNotHeldError, LockReleasedError, LockTimeoutError } from './errors.js';
export type {
  InspectOptions,
  LockEntry,
  LockQueue,
  RWLockEntry,
  RWLockQueue,
  SemaphoreQueue,
} from './inspect.js';
export type { LocksContext } from './lock-all.js';
export { HeldLocks, lockAll, withLocks } from './lock-all.js';
export type { LockOptions } from './mutex.js';
export { Mutex } from './mutex.js';
export type { RWMode } from './rwmutex.js';
export { RWMutex } from './rwmutex.js';
export { Semaphore } from './semaphore.js';
export type { LockContext, WithLockOptions } from './with-lock.js';
export { acquireLock, HeldLock, withLock } from './with-lock.js';
