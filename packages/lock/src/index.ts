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
