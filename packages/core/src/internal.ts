/**
 * @etcdkit/core/internal: the pieces etcdkit's own packages share (the coordination kernel,
 * backoff, signals, bytes, observables). Not a public API: it changes without notice between versions.
 */
export { Backoff, type BackoffOptions, type RetryOptions, retry } from './internal/backoff.js';
export { type Bytes, concat, describe, prefixEnd, toBuffer, toKey } from './internal/bytes.js';
export {
  type ErrorReporter,
  type Observer,
  type Producer,
  reportUncaught,
  SharedObservable,
  type SharedObservableOptions,
  Subject,
  type SubjectOptions,
  type Subscribable,
  type SubscribeOptions,
  type Subscription,
  symbolObservable,
  type ToAsyncIteratorOptions,
  toAsyncIterator,
  toObserver,
} from './internal/observable.js';
export { abortable, abortError, type LinkedSignal, linkSignals, sleep } from './internal/signals.js';
