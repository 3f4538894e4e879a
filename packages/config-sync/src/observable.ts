import { AbortError, InvalidArgumentError } from '@etcdkit/core';
import { SubscriberError } from './errors.js';

/** What `subscribe` accepts: a callback for each value, or an Observer. */
export interface Observer<V> {
  next?(value: V): void;
  error?(err: unknown): void;
  complete?(): void;
}

/**
 * Ends a subscription. Both `sub.unsubscribe()` and `sub()` work, so it serves as an RxJS
 * teardown and as the cleanup function React's useSyncExternalStore expects.
 */
export type Subscription = (() => void) & { unsubscribe(): void; readonly closed: boolean };

export interface DebounceOptions {
  /** Deliver once no newer value came for this long. */
  quietMs: number;
  /** ...but never later than this after the first undelivered value. Default 10 × quietMs. */
  maxDelayMs?: number;
}

export interface SubscribeOptions {
  /** Unsubscribes when aborted. */
  signal?: AbortSignal;
  /** Coalesce bursts: only the latest value after a quiet period (or the maximum delay) is delivered. */
  debounce?: DebounceOptions;
}

interface Sink<V> {
  observer: Observer<V>;
  closed: boolean;
  quietMs: number;
  maxDelayMs: number;
  pending: { value: V } | undefined;
  firstPendingAt: number;
  timer: NodeJS.Timeout | undefined;
  cleanup: () => void;
}

/** `Symbol.observable` (core defines it where the runtime does not). */
export { symbolObservable as observableSymbol } from '@etcdkit/core';

/**
 * The subscribers of one observable source. Each gets the current value at once, then every
 * published value (or, debounced, the latest of a burst). A subscriber that throws is
 * reported through `onError` and the others still get the value.
 */
export class Broadcaster<V> {
  private sinks: Sink<V>[] = [];
  private end: { error: unknown } | { complete: true } | undefined;

  constructor(
    private readonly current: () => V,
    private readonly onError: (err: SubscriberError) => void,
  ) {}

  get size(): number {
    return this.sinks.length;
  }

  subscribe(target: Observer<V> | ((value: V) => void), options: SubscribeOptions = {}): Subscription {
    const observer = typeof target === 'function' ? { next: target } : target;
    if (typeof observer !== 'object' || observer === null)
      throw new InvalidArgumentError('subscribe() needs a function or an observer { next, error, complete }');
    const { quietMs, maxDelayMs } = debounceOf(options.debounce);
    const signal = options.signal;
    const sink: Sink<V> = {
      observer,
      closed: false,
      quietMs,
      maxDelayMs,
      pending: undefined,
      firstPendingAt: 0,
      timer: undefined,
      cleanup: () => {},
    };
    const unsubscribe = () => {
      if (sink.closed) return;
      sink.closed = true;
      clearTimeout(sink.timer);
      sink.pending = undefined;
      sink.cleanup();
      this.sinks = this.sinks.filter((s) => s !== sink);
    };
    const sub = Object.defineProperties(() => unsubscribe(), {
      unsubscribe: { value: unsubscribe },
      closed: { get: () => sink.closed },
    }) as Subscription;
    if (signal?.aborted) {
      sink.closed = true;
      return sub;
    }
    if (signal) {
      signal.addEventListener('abort', unsubscribe, { once: true });
      sink.cleanup = () => signal.removeEventListener('abort', unsubscribe);
    }
    this.sinks = [...this.sinks, sink];
    this.call(sink, 'next', this.current());
    if (this.end && !sink.closed) this.finish(sink);
    return sub;
  }

  publish(value: V): void {
    for (const sink of this.sinks) {
      if (sink.closed) continue;
      if (sink.quietMs === 0 && sink.maxDelayMs === 0) this.call(sink, 'next', value);
      else this.hold(sink, value);
    }
  }

  /** Deliver what debounced subscribers hold, then complete everyone. */
  complete(): void {
    this.terminate({ complete: true });
  }

  /** Deliver what debounced subscribers hold, then send `error` to everyone. */
  fail(error: unknown): void {
    this.terminate({ error });
  }

  private terminate(end: NonNullable<Broadcaster<V>['end']>): void {
    if (this.end) return;
    this.end = end;
    const sinks = this.sinks;
    for (const sink of sinks) {
      if (sink.closed) continue;
      clearTimeout(sink.timer);
      this.flush(sink);
      this.finish(sink);
    }
    this.sinks = [];
  }

  private finish(sink: Sink<V>): void {
    const end = this.end!;
    sink.closed = true;
    sink.cleanup();
    if ('error' in end) this.call(sink, 'error', end.error);
    else this.call(sink, 'complete');
    this.sinks = this.sinks.filter((s) => s !== sink);
  }

  private hold(sink: Sink<V>, value: V): void {
    const now = performance.now();
    if (!sink.pending) sink.firstPendingAt = now;
    sink.pending = { value };
    clearTimeout(sink.timer);
    const wait = Math.min(sink.quietMs, sink.firstPendingAt + sink.maxDelayMs - now);
    if (wait <= 0) this.flush(sink);
    // setTimeout cannot wait longer than 2^31 - 1 ms.
    else sink.timer = setTimeout(() => this.flush(sink), Math.min(wait, 2 ** 31 - 1));
  }

  private flush(sink: Sink<V>): void {
    sink.timer = undefined;
    const p = sink.pending;
    sink.pending = undefined;
    if (p && !sink.closed) this.call(sink, 'next', p.value);
  }

  private call(sink: Sink<V>, method: 'next' | 'error' | 'complete', value?: unknown): void {
    const fn = sink.observer[method];
    // A terminal error without a handler is not lost: the source reports it on its 'error' event.
    if (typeof fn !== 'function') return;
    try {
      (fn as (v?: unknown) => void).call(sink.observer, value);
    } catch (err) {
      this.onError(new SubscriberError(err));
    }
  }
}

function debounceOf(d: DebounceOptions | undefined): { quietMs: number; maxDelayMs: number } {
  if (d === undefined) return { quietMs: 0, maxDelayMs: 0 };
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  if (!ok(d.quietMs))
    throw new InvalidArgumentError(`debounce.quietMs must be a number >= 0, got ${d.quietMs}`);
  const maxDelayMs = d.maxDelayMs ?? d.quietMs * 10;
  if (!ok(maxDelayMs))
    throw new InvalidArgumentError(`debounce.maxDelayMs must be a number >= 0, got ${d.maxDelayMs}`);
  return { quietMs: d.quietMs, maxDelayMs };
}

/**
 * An async iterator over a subscription: the current value, then the newest value whenever
 * the consumer asks again (a slow consumer skips to the latest; it never sees a stale one).
 */
export function latest<V>(
  subscribe: (o: Observer<V>) => Subscription,
  signal?: AbortSignal,
): AsyncIterableIterator<V> {
  let pending: { value: V } | undefined;
  let end: { error: unknown } | { done: true } | undefined;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const sub = subscribe({
    next: (value) => {
      pending = { value };
      poke();
    },
    error: (error) => {
      end = { error };
      poke();
    },
    complete: () => {
      end = { done: true };
      poke();
    },
  });
  const stop = () => {
    sub();
    signal?.removeEventListener('abort', onAbort);
  };
  const onAbort = () => {
    stop();
    end = { error: new AbortError('the iteration was aborted', { cause: signal?.reason }) };
    poke();
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  const done = (): IteratorResult<V> => ({ value: undefined, done: true });
  return {
    async next(): Promise<IteratorResult<V>> {
      for (;;) {
        if (pending) {
          const { value } = pending;
          pending = undefined;
          return { value, done: false };
        }
        if (end) {
          stop();
          const e = end;
          end = { done: true };
          if ('error' in e) throw e.error;
          return done();
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
    async return(): Promise<IteratorResult<V>> {
      stop();
      pending = undefined;
      end = { done: true };
      poke();
      return done();
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
