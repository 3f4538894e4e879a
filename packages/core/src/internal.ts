/**
 * @etcdkit/core/internal: the pieces etcdkit's own packages share (the coordination kernel,
 * backoff, signals, bytes). Not a public API: it changes without notice between versions.
 */
export { Backoff, type BackoffOptions, type RetryOptions, retry } from './internal/backoff.js';
export { type Bytes, concat, describe, prefixEnd, toBuffer, toKey } from './internal/bytes.js';
export { abortable, abortError, type LinkedSignal, linkSignals, sleep } from './internal/signals.js';
export { type LongTimer, longTimer, MAX_TIMER_MS } from './internal/timers.js';
export {
  setWatchStreamIdleMs,
  WATCH_STREAM_IDLE_MS,
  type WatchHubStats,
  watchStats,
  watchStreamsOpened,
} from './watch.js';
