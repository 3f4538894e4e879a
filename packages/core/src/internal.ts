/**
 * @etcdkit/core/internal: the pieces etcdkit's own packages share (the coordination kernel,
 * backoff, signals, bytes, observables). Not a public API: it changes without notice between versions.
 */

// First: the rest may use Buffer as their modules load (a global one, or the polyfill).
import './internal/buffer-global.js';

export { type DeleteFollower, followDeletes } from './coordination/deletes.js';
export { Hold, sessionError } from './coordination/hold.js';
export type { Observed } from './coordination/observe.js';
export { followOwnership, type LossCause, type Ownership } from './coordination/ownership.js';
export {
  claim,
  claimedBy,
  deleteIfMine,
  doneWaiting,
  type JoinOptions,
  joinQueue,
  leaveQueue,
  NAMED_QUEUE_MAX,
  pendingRemoval,
  retryLeave,
  type Ticket,
  unclaim,
} from './coordination/queue.js';
export { noKeyUnder } from './coordination/range-compare.js';
export { type Turn, type TurnRequest, takeTurn } from './coordination/take.js';
export { anyoneAhead, type Blocked, waitForTurn } from './coordination/turn.js';
export { untilDeleted } from './coordination/until-deleted.js';
export {
  checkWaitOptions,
  type WaitOptions,
  type WaitScope,
  waitScope,
} from './coordination/wait.js';
export { diagnostics, type TypedChannel } from './diagnostics.js';
export { Backoff, type BackoffOptions, type RetryOptions, retry } from './internal/backoff.js';
export { type Bytes, concat, describe, isUtf8, prefixEnd, toBuffer, toKey } from './internal/bytes.js';
export { checkInt64, checkUint63, INT64_MAX, INT64_MIN, type Int64Range } from './internal/int64.js';
export { bindLog, Log, type LogLevel, logOf } from './internal/log.js';
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
export { type LongTimer, longTimer, MAX_TIMER_MS } from './internal/timers.js';
export {
  setWatchStreamIdleMs,
  WATCH_STREAM_IDLE_MS,
  type WatchHubStats,
  watchStats,
  watchStreamsOpened,
} from './watch.js';
