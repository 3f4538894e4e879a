/**
 * Coordination recipes on etcd: an atomic {@link Counter}, a versioned {@link SharedValue}, a
 * {@link Barrier}, a {@link DoubleBarrier}, a {@link Queue} (priorities and delays, each item to
 * exactly one consumer) and a {@link WorkQueue} (at-least-once: a claim dies with its session).
 *
 * @module @etcdkit/recipes
 */

// Also thrown by the recipes; re-exported so callers can test for them without importing core.
export { AbortError, DeadlineExceededError, InvalidArgumentError, SessionExpiredError } from '@etcdkit/core';
export { Barrier } from './barrier.js';
export { Counter, type CounterCallOptions } from './counter.js';
export { DoubleBarrier } from './double-barrier.js';
export { BarrierFullError, BarrierStateError, ClaimLostError, InvalidValueError } from './errors.js';
export { type EnqueueOptions, MAX_PRIORITY, MIN_PRIORITY, Queue } from './queue.js';
export { SharedValue, type SharedValueObserver, type Versioned } from './shared-value.js';
export { type WorkClaim, type WorkItem, WorkQueue } from './work-queue.js';
