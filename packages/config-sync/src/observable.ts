import { InvalidArgumentError } from '@etcdkit/core';
import type {
  SubscribeOptions as BaseSubscribeOptions,
  ErrorReporter,
  Observer,
} from '@etcdkit/core/internal';

/** etcdkit's one Observer and Subscription shapes (`sub.unsubscribe()` or `sub()`, and `sub.closed`). */
export type { Observer, Subscription } from '@etcdkit/core/internal';

/** How `subscribe(fn, { debounce })` coalesces bursts of changes; times in milliseconds. */
export interface DebounceOptions {
  /** Deliver once no newer value came for this long. */
  quietMs: number;
  /** ...but never later than this after the first undelivered value. Default 10 × quietMs. */
  maxDelayMs?: number;
}

/** Options of `subscribe()` on a mirror or a view. */
export interface SubscribeOptions extends BaseSubscribeOptions {
  /** Coalesce bursts: only the latest value after a quiet period (or the maximum delay) is delivered. */
  debounce?: DebounceOptions;
}

/** Check `debounce` at subscribe time; undefined when nothing is to be held back. */
export function debounceOf(d: DebounceOptions | undefined): Required<DebounceOptions> | undefined {
  if (d === undefined) return undefined;
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  if (!ok(d.quietMs))
    throw new InvalidArgumentError(`debounce.quietMs must be a number >= 0, got ${d.quietMs}`);
  const maxDelayMs = d.maxDelayMs ?? d.quietMs * 10;
  if (!ok(maxDelayMs))
    throw new InvalidArgumentError(`debounce.maxDelayMs must be a number >= 0, got ${d.maxDelayMs}`);
  if (d.quietMs === 0 && maxDelayMs === 0) return undefined;
  return { quietMs: d.quietMs, maxDelayMs };
}

/**
 * An observer that passes the first value (the current one, replayed at subscribe) at once and
 * holds later ones: the latest is delivered once none newer came for `quietMs`, or `maxDelayMs`
 * after the first one held. What it holds is delivered before `error`/`complete`; `cancel()`
 * (when the subscription closes) drops it. `report` gets what the target throws from a held
 * delivery, where no Subject is there to catch it.
 */
export function debounced<V>(
  target: Observer<V>,
  { quietMs, maxDelayMs }: Required<DebounceOptions>,
  report: ErrorReporter,
): { observer: Observer<V>; cancel: () => void } {
  let first = true;
  let cancelled = false;
  let pending: { value: V } | undefined;
  let firstPendingAt = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    const p = pending;
    pending = undefined;
    if (p && !cancelled) target.next?.(p.value);
  };
  const flushGuarded = (): void => {
    try {
      flush();
    } catch (err) {
      report(err);
    }
  };
  const observer: Observer<V> = {
    start: (sub) => target.start?.(sub),
    next: (value) => {
      if (first) {
        first = false;
        target.next?.(value);
        return;
      }
      const now = performance.now();
      if (!pending) firstPendingAt = now;
      pending = { value };
      clearTimeout(timer);
      const wait = Math.min(quietMs, firstPendingAt + maxDelayMs - now);
      if (wait <= 0) flush();
      // setTimeout cannot wait longer than 2^31 - 1 ms.
      else timer = setTimeout(flushGuarded, Math.min(wait, 2 ** 31 - 1));
    },
    error: (err) => {
      flushGuarded();
      // A subscriber without `error` leaves the failure to the mirror's 'error' event.
      target.error?.(err);
    },
    complete: () => {
      flushGuarded();
      target.complete?.();
    },
  };
  return {
    observer,
    cancel: () => {
      cancelled = true;
      clearTimeout(timer);
      timer = undefined;
      pending = undefined;
    },
  };
}
