import { InvalidArgumentError } from '../errors.js';

/**
 * `Symbol.observable`, the key Observable libraries (RxJS `from()`, zen-observable, Redux) look
 * for. Node does not define it, so it is defined here, once for all of etcdkit, as the common
 * ponyfill does: reusing one defined earlier, else `Symbol.for('observable')`.
 */
const holder = Symbol as unknown as { observable?: symbol };
if (typeof holder.observable !== 'symbol')
  Object.defineProperty(Symbol, 'observable', { value: Symbol.for('observable'), configurable: true });

/**
 * `Symbol.observable` (defined once for all of etcdkit when the runtime lacks it):
 * `obj[symbolObservable]()` returns an ES Observable for RxJS's `from()` and the like.
 */
export const symbolObservable: symbol = holder.observable!;

declare global {
  interface SymbolConstructor {
    readonly observable: symbol;
  }
}

/** What `subscribe` accepts (besides a plain `next` function). Every method is optional. */
export interface Observer<T> {
  /** Called first, with the subscription, before any value: a subscriber may end itself from any callback. */
  start?(subscription: Subscription): void;
  /** Called with each value. */
  next?(value: T): void;
  /** The source failed; nothing follows. */
  error?(error: unknown): void;
  /** The source ended; nothing follows. */
  complete?(): void;
}

/**
 * Ends a subscription. `sub.unsubscribe()` and `sub()` do the same, so it serves both as an
 * RxJS/ES Observable subscription and as the cleanup function React's useSyncExternalStore
 * expects. `closed` turns true on unsubscribe and once the subscriber got `error` or `complete`.
 */
export interface Subscription {
  (): void;
  /** End the subscription: no callback is called after it returns. Safe to call twice. */
  unsubscribe(): void;
  /** True after `unsubscribe()`, and once the subscriber got `error` or `complete`. */
  readonly closed: boolean;
}

/**
 * Options of `subscribe()` on etcdkit's observables.
 *
 * @inline
 */
export interface SubscribeOptions {
  /** Unsubscribes when it aborts (no `complete` is sent). */
  signal?: AbortSignal;
  /**
   * Called once when this subscription closes, whatever closed it (unsubscribe, signal, the
   * source's end), after its last callback: where a subscriber frees what it holds (timers).
   */
  onClose?: () => void;
}

/** What can be subscribed to: a Subject, a SharedObservable, anything of that shape. */
export interface Subscribable<T> {
  subscribe(target: Observer<T> | ((value: T) => void), options?: SubscribeOptions): Subscription;
}

/** Where errors a subscriber cannot take go; see SubjectOptions. */
export type ErrorReporter = (error: unknown) => void;

export interface SubjectOptions {
  /** Give each new subscriber the latest value first (and after the end, that value, then the end). */
  replay?: boolean;
  /** Receives what a subscriber's callback threw. Default: rethrown from a microtask. */
  onSubscriberError?: ErrorReporter;
  /**
   * Receives a terminal error sent to a subscriber without an `error` callback. Default: as
   * onSubscriberError. `null` when the owner reports its failures elsewhere (an 'error' event).
   */
  onUnhandledError?: ErrorReporter | null;
  /** Called whenever the last subscriber unsubscribes (not when the subject ends). */
  onIdle?: () => void;
}

/**
 * The default report of an error nobody can take: an uncaught exception, raised on its own
 * microtask, as the ES Observable proposal's HostReportErrors does. It never interrupts the
 * delivery to other subscribers.
 */
export function reportUncaught(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

type Notification<T> = { kind: 'next'; value: T } | { kind: 'error'; error: unknown } | { kind: 'complete' };
type Terminal = Exclude<Notification<never>, { kind: 'next' }>;

interface Sink<T> {
  observer: Observer<T>;
  closed: boolean;
  detach: () => void;
  onClose: (() => void) | undefined;
}

/** A `subscribe` argument as an Observer; a clear error for anything else. */
export function toObserver<T>(target: Observer<T> | ((value: T) => void)): Observer<T> {
  if (typeof target === 'function') return { next: target };
  if (typeof target !== 'object' || target === null)
    throw new InvalidArgumentError(
      'subscribe() needs a function or an observer { next?, error?, complete? }',
    );
  return target;
}

function subscriptionOf(unsubscribe: () => void, isClosed: () => boolean): Subscription {
  return Object.defineProperties(() => unsubscribe(), {
    unsubscribe: { value: unsubscribe },
    closed: { get: isClosed },
  }) as Subscription;
}

/**
 * A multicast source etcdkit's packages push values into; it delivers each to every subscriber.
 *
 * - Order: every subscriber sees the values in the order they were pushed. A `next`, `error` or
 *   `complete` called while a value is being delivered (from inside a callback) waits until that
 *   value reached everyone.
 * - Replay (`replay: true`): a new subscriber gets the latest delivered value at once, then every
 *   later one. After the end it gets that value, then the end.
 * - Terminal: `error` or `complete` ends the subject; later pushes are ignored and later
 *   subscribers get the end at once.
 * - Isolation: a callback that throws does not stop delivery to anyone (itself included: it
 *   stays subscribed); what it threw goes to `onSubscriberError`.
 * - Unsubscribing (also another subscriber, also from inside a callback) takes effect at once:
 *   that subscriber gets nothing more.
 */
export class Subject<T> implements Subscribable<T> {
  /** Replaced, never changed in place, so a delivery walks a stable list. */
  private sinks: readonly Sink<T>[] = [];
  private latest: { value: T } | undefined;
  private ended: Terminal | undefined;
  private stopping = false;
  private readonly queue: Notification<T>[] = [];
  private delivering = false;
  private readonly replay: boolean;
  private readonly reportThrown: ErrorReporter;
  private readonly reportUnhandled: ErrorReporter | null;
  private readonly onIdle: (() => void) | undefined;

  constructor(options: SubjectOptions = {}) {
    this.replay = options.replay ?? false;
    this.reportThrown = options.onSubscriberError ?? reportUncaught;
    this.reportUnhandled =
      options.onUnhandledError === undefined ? this.reportThrown : options.onUnhandledError;
    this.onIdle = options.onIdle;
  }

  /** Whether anyone is subscribed: producers may skip building values nobody gets. */
  get observed(): boolean {
    return this.sinks.length > 0;
  }

  get size(): number {
    return this.sinks.length;
  }

  /** Whether `error` or `complete` was called. */
  get closed(): boolean {
    return this.stopping;
  }

  next(value: T): void {
    if (!this.stopping) this.push({ kind: 'next', value });
  }

  error(error: unknown): void {
    if (this.stopping) return;
    this.stopping = true;
    this.push({ kind: 'error', error });
  }

  complete(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.push({ kind: 'complete' });
  }

  subscribe(target: Observer<T> | ((value: T) => void), options: SubscribeOptions = {}): Subscription {
    const observer = toObserver(target);
    const signal = options.signal;
    const sink: Sink<T> = { observer, closed: false, detach: () => {}, onClose: options.onClose };
    const sub = subscriptionOf(
      () => this.remove(sink),
      () => sink.closed,
    );
    if (signal?.aborted) {
      this.remove(sink);
      return sub;
    }
    this.call(sink, 'start', sub);
    if (sink.closed) return sub;
    if (signal) {
      const onAbort = (): void => this.remove(sink);
      signal.addEventListener('abort', onAbort, { once: true });
      sink.detach = () => signal.removeEventListener('abort', onAbort);
    }
    if (!this.ended) this.sinks = [...this.sinks, sink];
    if (this.replay && this.latest) this.call(sink, 'next', this.latest.value);
    if (this.ended && !sink.closed) this.finish(sink, this.ended);
    return sub;
  }

  /**
   * The interop hook of ES Observables: returns this object, so RxJS's `from()` and the like accept
   * it.
   */
  [Symbol.observable](): this {
    return this;
  }

  /** The same hook under the string key older Observable libraries look for. */
  '@@observable'(): this {
    return this;
  }

  private push(n: Notification<T>): void {
    this.queue.push(n);
    if (this.delivering) return;
    this.delivering = true;
    try {
      for (let item = this.queue.shift(); item; item = this.queue.shift()) this.deliver(item);
    } finally {
      this.delivering = false;
    }
  }

  private deliver(n: Notification<T>): void {
    if (n.kind === 'next') {
      // Set when its delivery starts, so a subscriber joining meanwhile gets it once.
      if (this.replay) this.latest = { value: n.value };
      for (const sink of this.sinks) if (!sink.closed) this.call(sink, 'next', n.value);
      return;
    }
    this.ended = n;
    const sinks = this.sinks;
    this.sinks = [];
    for (const sink of sinks) if (!sink.closed) this.finish(sink, n);
  }

  private finish(sink: Sink<T>, end: Terminal): void {
    sink.closed = true;
    sink.detach();
    if (end.kind === 'error') this.call(sink, 'error', end.error);
    else this.call(sink, 'complete');
    this.runOnClose(sink);
  }

  private remove(sink: Sink<T>): void {
    if (sink.closed) return;
    sink.closed = true;
    sink.detach();
    this.runOnClose(sink);
    const before = this.sinks.length;
    this.sinks = this.sinks.filter((s) => s !== sink);
    if (before > 0 && this.sinks.length === 0) this.onIdle?.();
  }

  private runOnClose(sink: Sink<T>): void {
    const onClose = sink.onClose;
    sink.onClose = undefined;
    if (!onClose) return;
    try {
      onClose();
    } catch (err) {
      this.report(this.reportThrown, err);
    }
  }

  private call(sink: Sink<T>, method: keyof Observer<T>, value?: unknown): void {
    const fn = sink.observer[method];
    if (typeof fn !== 'function') {
      if (method === 'error') this.report(this.reportUnhandled, value);
      return;
    }
    try {
      (fn as (v?: unknown) => void).call(sink.observer, value);
    } catch (err) {
      this.report(this.reportThrown, err);
    }
  }

  private report(reporter: ErrorReporter | null, error: unknown): void {
    if (!reporter) return;
    try {
      reporter(error);
    } catch (thrown) {
      reportUncaught(thrown);
    }
  }
}

/**
 * Produces values into `emit` until `signal` aborts (then it should return soon) or it is done.
 * Resolving completes the observable, rejecting fails it.
 */
export type Producer<T> = (emit: (value: T) => void, signal: AbortSignal) => Promise<void>;

export interface SharedObservableOptions extends Omit<SubjectOptions, 'onIdle'> {}

/**
 * An Observable whose producer runs once for all its current subscribers: the first subscriber
 * starts it, the last one to unsubscribe stops it (aborting its signal), and a subscriber coming
 * after that, or after the end, starts a fresh run. Within a run it is a Subject (see there for
 * order, replay, isolation); with `replay`, a subscriber joining a run gets its latest value.
 */
export class SharedObservable<T> implements Subscribable<T> {
  private run: { subject: Subject<T>; stop: AbortController; started: boolean } | undefined;

  constructor(
    private readonly producer: Producer<T>,
    private readonly options: SharedObservableOptions = {},
  ) {}

  subscribe(target: Observer<T> | ((value: T) => void), options: SubscribeOptions = {}): Subscription {
    let run = this.run;
    if (!run || run.subject.closed) {
      const fresh = {
        subject: undefined as unknown as Subject<T>,
        stop: new AbortController(),
        started: false,
      };
      fresh.subject = new Subject<T>({
        ...this.options,
        onIdle: () => {
          if (this.run === fresh) this.run = undefined;
          fresh.stop.abort();
        },
      });
      this.run = run = fresh;
    }
    const sub = run.subject.subscribe(target, options);
    // Started after the first subscription, so it cannot emit before anyone listens.
    if (!run.started && run.subject.observed) {
      run.started = true;
      const { subject, stop } = run;
      let running: Promise<void>;
      try {
        running = this.producer((v) => subject.next(v), stop.signal);
      } catch (err) {
        running = Promise.reject(err);
      }
      running.then(
        () => subject.complete(),
        (err: unknown) => {
          if (!stop.signal.aborted) subject.error(err);
        },
      );
    }
    return sub;
  }

  /**
   * The interop hook of ES Observables: returns this object, so RxJS's `from()` and the like accept
   * it.
   */
  [Symbol.observable](): this {
    return this;
  }

  /** The same hook under the string key older Observable libraries look for. */
  '@@observable'(): this {
    return this;
  }
}

export interface ToAsyncIteratorOptions<T> {
  /**
   * 'every' (default): a queue, every value is yielded. 'latest': only the newest value not yet
   * taken is kept, so a slow consumer skips to it and never sees a stale one.
   */
  keep?: 'every' | 'latest';
  /**
   * With 'every': at most `maxBuffered` values are held for a slow consumer; one more ends the
   * iteration (after what was buffered) with `error(maxBuffered)`. Default: no bound.
   */
  overflow?: { maxBuffered: number; error: (maxBuffered: number) => unknown };
  /** Ends the iteration: what was buffered is still yielded, then `abortError()` is thrown (or, without it, the iteration ends). */
  signal?: AbortSignal;
  abortError?: () => unknown;
  /** Yielded before the source's values (e.g. a replay of the current state). */
  initial?: Iterable<T>;
}

/**
 * Iterate a subscribable with `for await`. It subscribes at once, so nothing pushed between this
 * call and the first `next()` is missed. The source's `complete` ends the iteration after what
 * was buffered, its `error` is thrown after it; `return()` (a `break`), `throw()` and
 * `[Symbol.asyncDispose]()` unsubscribe at once, even while a `next()` waits (it then ends).
 * It has an async generator's interface, so it can stand where one was returned.
 */
export function toAsyncIterator<T>(
  source: Subscribable<T>,
  options: ToAsyncIteratorOptions<T> = {},
): AsyncGenerator<T, void, unknown> {
  const latestOnly = options.keep === 'latest';
  const max = options.overflow?.maxBuffered ?? Number.POSITIVE_INFINITY;
  const signal = options.signal;
  let buffer: T[] = [];
  let head = 0;
  let ended = false;
  let failure: { error: unknown } | undefined;
  const waiters: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  let sub: Subscription | undefined;
  const done = (): IteratorResult<T, void> => ({ value: undefined, done: true });

  const finish = (error?: { error: unknown }): void => {
    if (ended) return;
    ended = true;
    failure = error;
    sub?.unsubscribe();
    signal?.removeEventListener('abort', onAbort);
    // Waiters exist only while the buffer is empty.
    for (const w of waiters.splice(0)) {
      if (failure) {
        w.reject(failure.error);
        failure = undefined;
      } else w.resolve(done());
    }
  };
  const onAbort = (): void => finish(options.abortError ? { error: options.abortError() } : undefined);
  const push = (value: T): void => {
    if (ended) return;
    const w = waiters.shift();
    if (w) w.resolve({ value, done: false });
    else if (latestOnly) {
      buffer = [value];
      head = 0;
    } else if (buffer.length - head >= max) finish({ error: options.overflow!.error(max) });
    else buffer.push(value);
  };

  if (options.initial) for (const v of options.initial) push(v);
  if (signal?.aborted) onAbort();
  else {
    signal?.addEventListener('abort', onAbort, { once: true });
    source.subscribe({
      start: (s) => {
        sub = s;
      },
      next: push,
      error: (error) => finish({ error }),
      complete: () => finish(),
    });
  }

  const stop = (): void => {
    finish();
    buffer = [];
    head = 0;
    failure = undefined;
  };
  return {
    next(): Promise<IteratorResult<T, void>> {
      if (head < buffer.length) {
        const value = buffer[head]!;
        buffer[head++] = undefined as T;
        if (head === buffer.length) {
          buffer = [];
          head = 0;
        } else if (head > 1024 && head * 2 > buffer.length) {
          buffer = buffer.slice(head);
          head = 0;
        }
        return Promise.resolve({ value, done: false });
      }
      if (ended) {
        const f = failure;
        failure = undefined;
        return f ? Promise.reject(f.error) : Promise.resolve(done());
      }
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    return(): Promise<IteratorResult<T, void>> {
      stop();
      return Promise.resolve(done());
    },
    throw(error: unknown): Promise<IteratorResult<T, void>> {
      stop();
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
    async [Symbol.asyncDispose]() {
      stop();
    },
  };
}
