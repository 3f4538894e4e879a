import { AbortError, InvalidArgumentError } from '@etcdkit/core';
import { diagnostics, type Log, logOf, Subject, toAsyncIterator, toObserver } from '@etcdkit/core/internal';
import { EventEmitter } from 'eventemitter3';
import type { Change, ChangesOptions } from './changes.js';
import { ChangesOverflowError, SubscriberError } from './errors.js';
import {
  debounced,
  debounceOf,
  type Observer,
  type SubscribeOptions,
  type Subscription,
} from './observable.js';
import { type ConfigSnapshot, type Edit, type Entry, entriesOf, entryOf, Snapshot } from './snapshot.js';
import type { StandardSchemaIssue } from './standard-schema.js';

/**
 * syncing: reading the prefix (at start, or again after a compaction).
 * live: watching; every change is applied as it happens.
 * reconnecting: the connection broke; the watch resumes after the last applied revision.
 * stale: etcd was unreachable at start; serving the last-known-good file or the initial defaults.
 * closed: close() was called, or the client was closed (then `lastError` says so).
 */
export type MirrorStatus = 'syncing' | 'live' | 'reconnecting' | 'stale' | 'closed';

/** A value that failed to decode or validate; the key keeps its last good value. */
export interface InvalidEvent {
  /** The key, relative to the mirrored prefix. */
  key: string;
  /** The revision that wrote the rejected value. */
  revision: bigint;
  /** Why it was rejected, in words (the decoder's or the schema's message). */
  reason: string;
  /** The schema's issues, when validation failed. */
  issues?: readonly StandardSchemaIssue[];
  /** What the decoder or the schema threw. */
  cause?: unknown;
}

/** The prefix was read again (after a compaction, or when etcd came back after a degraded start). */
export interface ResyncEvent {
  /** The revision the prefix was read at. */
  revision: bigint;
  /**
   * `compacted`: the watch's history was compacted; `recovered`: etcd was reached after a degraded
   * start.
   */
  reason: 'compacted' | 'recovered';
  /** Missed puts applied by the diff. */
  puts: number;
  /** Missed deletes applied by the diff. */
  deletes: number;
}

/** Events of a {@link Mirror} (an eventemitter3 emitter): `cfg.on('invalid', (event) => ...)`. */
export interface MirrorEvents {
  /** A value failed to decode or validate; the key keeps its last good value. */
  invalid: [event: InvalidEvent];
  /** Something went wrong that the mirror works around (disconnect, failed relist or file write, a throwing subscriber). */
  error: [error: Error];
  /** The status changed (e.g. `live` → `reconnecting`). */
  status: [status: MirrorStatus, previous: MirrorStatus];
  /** The prefix was read again and the snapshot brought up to date. */
  resync: [event: ResyncEvent];
}

const channel = diagnostics.config;

/** @internal What a mirror and all its views share. */
export class Hub<T> {
  status: MirrorStatus = 'syncing';
  lastError: Error | undefined;
  /** The last revision applied. */
  revision = 0n;
  ended = false;
  endError: Error | undefined;
  root!: ConfigView<T>;
  /** The mirrored prefix as text, for the config channel and the logger. */
  prefix = '';
  log: Log = logOf(undefined);
  /** Sub-prefix views by their prefix relative to the mirror. */
  readonly selects = new Map<string, ConfigView<T>>();
  /** Key views by their key relative to the mirror. */
  readonly keyViews = new Map<string, Set<KeyView<T>>>();

  private *sources(): Generator<Source<unknown, T>> {
    yield this.root;
    yield* this.selects.values();
    for (const set of this.keyViews.values()) yield* set;
  }

  commit(edits: readonly Edit<T>[], revision: bigint): void {
    if (channel.hasSubscribers)
      channel.publish({ type: 'applied', prefix: this.prefix, revision, changes: edits.length });
    this.root.apply(edits, revision);
    for (const [prefix, view] of this.selects) {
      let mine: Edit<T>[] | undefined;
      for (const e of edits) if (e.key.startsWith(prefix)) (mine ??= []).push(e);
      if (mine) view.apply(mine, revision);
    }
    if (this.keyViews.size > 0)
      for (const e of edits) {
        const set = this.keyViews.get(e.key);
        if (set) for (const v of set) v.apply(e, revision);
      }
  }

  setStatus(status: MirrorStatus): void {
    const previous = this.status;
    if (previous === status || previous === 'closed') return;
    this.status = status;
    if (channel.hasSubscribers) {
      channel.publish({ type: 'status', prefix: this.prefix, status, previous });
      if (status === 'stale') channel.publish({ type: 'stale', prefix: this.prefix, error: this.lastError });
    }
    for (const s of this.sources()) s.emit('status', status, previous);
  }

  error(err: Error, record = true): void {
    if (record) this.lastError = err;
    let heard = false;
    for (const s of this.sources()) heard = s.emit('error', err) || heard;
    // eventemitter3 drops an 'error' nobody listens to: the client's logger says it instead.
    if (!heard && this.log.enabled) {
      const code = (err as { code?: unknown }).code ?? err.name;
      this.log.warn(
        `config-error:${this.prefix}:${String(code)}`,
        { prefix: this.prefix, err },
        `etcdkit: config mirror ${JSON.stringify(this.prefix)}: ${err.message}`,
      );
    }
  }

  /** What a subscriber threw: reported on 'error', the mirror and the other subscribers go on. */
  subscriberError = (err: unknown): void => this.error(new SubscriberError(err), false);

  invalid(event: InvalidEvent): void {
    if (channel.hasSubscribers)
      channel.publish({
        type: 'invalid',
        prefix: this.prefix,
        key: event.key,
        revision: event.revision,
        reason: event.reason,
      });
    if (!this.root.emit('invalid', event) && this.log.enabled)
      this.log.warn(
        `config-invalid:${this.prefix}:${event.key}`,
        { prefix: this.prefix, key: event.key, revision: event.revision, reason: event.reason },
        `etcdkit: config mirror ${JSON.stringify(this.prefix)}: invalid value of ${JSON.stringify(event.key)} (keeps its last good value): ${event.reason}`,
      );
    for (const [prefix, view] of this.selects)
      if (event.key.startsWith(prefix) && view.listenerCount('invalid') > 0)
        view.emit('invalid', { ...event, key: event.key.slice(prefix.length) });
    const set = this.keyViews.get(event.key);
    if (set) for (const v of set) v.emit('invalid', { ...event, key: v.name });
  }

  resync(event: ResyncEvent): void {
    if (channel.hasSubscribers) channel.publish({ type: 'relisted', prefix: this.prefix, ...event });
    for (const s of this.sources()) s.emit('resync', event);
  }

  /** No more changes: complete (or fail) every subscriber and changes() iterator. */
  end(error?: Error): void {
    if (this.ended) return;
    if (error) this.lastError = error;
    this.setStatus('closed');
    if (channel.hasSubscribers) channel.publish({ type: 'closed', prefix: this.prefix });
    this.ended = true;
    this.endError = error;
    if (error) this.error(error);
    for (const s of this.sources()) s.end(error);
  }
}

/** What every view has: live status, subscriptions (also as an Observable) and events. */
abstract class Source<V, T> extends EventEmitter<MirrorEvents> {
  /** The view's value: replayed to each new subscriber, then one per revision that changed it. */
  protected readonly values: Subject<V>;
  /** Every change, for changes() iterators. */
  protected readonly changeFeed: Subject<Change<T>>;
  /** @internal */ protected readonly hub: Hub<T>;

  /** @internal */
  constructor(hub: Hub<T>, initial: V) {
    super();
    this.hub = hub;
    // A failure without an `error` callback is not lost: the mirror reports it on 'error'.
    const options = { onSubscriberError: hub.subscriberError, onUnhandledError: null };
    this.values = new Subject<V>({ ...options, replay: true });
    this.values.next(initial);
    this.changeFeed = new Subject<Change<T>>(options);
  }

  /** The last revision applied; everything up to it is reflected. */
  get revision(): bigint {
    return this.hub.revision;
  }

  /**
   * Where the mirror stands: syncing, live, reconnecting, stale or closed; see {@link
   * MirrorStatus}.
   */
  get status(): MirrorStatus {
    return this.hub.status;
  }

  /** The last error met while syncing; kept after recovery, so read it together with `status`. */
  get lastError(): Error | undefined {
    return this.hub.lastError;
  }

  /**
   * Get the current value now, then one for every revision that changes it; completes on
   * close(). Bound, so it can be passed around (`useSyncExternalStore(cfg.subscribe, cfg.snapshot)`).
   */
  readonly subscribe = (
    target: Observer<V> | ((value: V) => void),
    options: SubscribeOptions = {},
  ): Subscription => {
    const observer = toObserver(target);
    const debounce = debounceOf(options.debounce);
    const { signal, onClose } = options;
    const base = { ...(signal ? { signal } : {}), ...(onClose ? { onClose } : {}) };
    if (!debounce) return this.values.subscribe(observer, base);
    const held = debounced(observer, debounce, this.hub.subscriberError);
    const cancel = (): void => {
      held.cancel();
      onClose?.();
    };
    return this.values.subscribe(held.observer, { ...base, onClose: cancel });
  };

  /** The Observable interop point: `from(cfg)` in RxJS. */
  [Symbol.observable](): this {
    return this;
  }

  /** The same interop point under the string key older Observable libraries look for. */
  '@@observable'(): this {
    return this;
  }

  /**
   * `for await (const value of view)`: the current value, then the newest one each time the
   * loop comes back (a slow loop skips to the latest; use changes() to see every change).
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<V> {
    return toAsyncIterator(this.values, { keep: 'latest' });
  }

  /** Like iterating the view, ending (with an AbortError) when `signal` aborts. */
  iterate(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<V> {
    const signal = options.signal;
    return toAsyncIterator(this.values, {
      keep: 'latest',
      ...(signal
        ? { signal, abortError: () => new AbortError('the iteration was aborted', { cause: signal.reason }) }
        : {}),
    });
  }

  protected openStream(
    options: ChangesOptions,
    replay: () => Iterable<Change<T>>,
  ): AsyncIterableIterator<Change<T>> {
    const max = options.maxBuffered ?? 100_000;
    if (!Number.isSafeInteger(max) || max < 1)
      throw new InvalidArgumentError(`maxBuffered must be a whole number >= 1, got ${max}`);
    const signal = options.signal;
    return toAsyncIterator(this.changeFeed, {
      overflow: { maxBuffered: max, error: (n) => new ChangesOverflowError(n) },
      ...(options.replay ? { initial: replay() } : {}),
      ...(signal
        ? { signal, abortError: () => new AbortError('changes() was aborted', { cause: signal.reason }) }
        : {}),
    });
  }

  /** @internal */
  end(error?: Error): void {
    if (error) {
      this.changeFeed.error(error);
      this.values.error(error);
    } else {
      this.changeFeed.complete();
      this.values.complete();
    }
  }
}

function toChange<T>(e: Edit<T>, key: string, revision: bigint): Change<T> {
  return e.next
    ? { type: 'put', key, value: e.next.value, prev: e.prev?.value, revision }
    : { type: 'delete', key, value: undefined, prev: e.prev!.value, revision };
}

/**
 * The keys under a prefix as an immutable snapshot that is replaced, never changed: its
 * identity changes exactly when its content does. The mirror itself is the view of its
 * whole prefix; select() gives views of sub-prefixes, key() of single keys.
 */
export class ConfigView<T> extends Source<ConfigSnapshot<T>, T> {
  /** Keys of this view start with this, relative to the mirror's prefix ('' for the mirror itself). */
  readonly prefix: string;
  /** @internal */ protected current: Snapshot<T>;
  private readonly keyViews = new Map<string, KeyView<T>>();

  /** @internal */
  constructor(hub: Hub<T>, prefix: string, current: Snapshot<T>) {
    super(hub, current);
    this.prefix = prefix;
    this.current = current;
  }

  /** The current content; bound, for `useSyncExternalStore(cfg.subscribe, cfg.snapshot)`. */
  readonly snapshot = (): ConfigSnapshot<T> => this.current;

  /** The value of `key` (relative to this view's prefix). */
  get(key: string): T | undefined {
    return this.current.get(key);
  }

  /** Whether `key` (relative to this view's prefix) has a value. */
  has(key: string): boolean {
    return this.current.has(key);
  }

  /** The current content as a nested plain object (`a/b/c` → `{ a: { b: { c } } }`), frozen. */
  toObject(): Record<string, unknown> {
    return this.current.toObject();
  }

  /**
   * Changes from now on (or, with `replay`, the current content first). Iterate it, or call
   * return() / abort its signal: until then it buffers.
   */
  changes(options: ChangesOptions = {}): AsyncIterableIterator<Change<T>> {
    return this.openStream(options, () => this.replay());
  }

  private *replay(): Generator<Change<T>> {
    const revision = this.hub.revision;
    for (const [key, value] of this.current) yield { type: 'put', key, value, prev: undefined, revision };
  }

  /**
   * A view of the keys starting with `prefix` (a plain string prefix: include the trailing '/'),
   * with keys relative to it. Views are kept for the mirror's lifetime, one per prefix.
   */
  select(prefix: string): ConfigView<T> {
    if (typeof prefix !== 'string') throw new InvalidArgumentError('select() needs a string prefix');
    const abs = this.prefix + prefix;
    if (abs === '') return this.hub.root;
    let view = this.hub.selects.get(abs);
    if (!view) {
      const picked = new Map<string, Entry<T>>();
      for (const [k, e] of entriesOf(this.hub.root.current))
        if (k.startsWith(abs)) picked.set(k.slice(abs.length), e);
      view = new ConfigView(this.hub, abs, Snapshot.of(picked, this.hub.root.current.revision));
      if (this.hub.ended) view.end(this.hub.endError);
      else this.hub.selects.set(abs, view);
    }
    return view;
  }

  /** A view of one key (relative to this view's prefix): its value, its changes. One per key. */
  key(name: string): KeyView<T> {
    if (typeof name !== 'string' || name === '')
      throw new InvalidArgumentError('key() needs a non-empty string');
    let view = this.keyViews.get(name);
    if (!view) {
      const abs = this.prefix + name;
      view = new KeyView(this.hub, name, abs, entryOf(this.hub.root.current, abs)?.value);
      this.keyViews.set(name, view);
      if (this.hub.ended) view.end(this.hub.endError);
      else {
        let set = this.hub.keyViews.get(abs);
        if (!set) this.hub.keyViews.set(abs, (set = new Set()));
        set.add(view);
      }
    }
    return view;
  }

  /** @internal */
  apply(edits: readonly Edit<T>[], revision: bigint): void {
    const strip = this.prefix.length;
    this.current = Snapshot.derive(this.current, edits, revision, strip);
    if (this.changeFeed.observed)
      for (const e of edits) this.changeFeed.next(toChange(e, strip ? e.key.slice(strip) : e.key, revision));
    this.values.next(this.current);
  }

  /** @internal the first content, before anyone could observe the view */
  reset(snapshot: Snapshot<T>): void {
    this.current = snapshot;
    this.values.next(snapshot);
  }
}

/** One key: its value (undefined while absent), as a subscribable source and as changes. */
export class KeyView<T> extends Source<T | undefined, T> {
  /** The key as it was named when the view was made (relative to that view). */
  readonly name: string;
  /** @internal */ readonly path: string;
  private value: T | undefined;

  /** @internal */
  constructor(hub: Hub<T>, name: string, path: string, value: T | undefined) {
    super(hub, value);
    this.name = name;
    this.path = path;
    this.value = value;
  }

  /** The current value; bound, like ConfigView#snapshot. */
  readonly get = (): T | undefined => this.value;
  /**
   * The current value (the same function as `get`), for `useSyncExternalStore(view.subscribe,
   * view.snapshot)`.
   */
  readonly snapshot = this.get;

  /**
   * Every change of this key, as it happens (with `replay`, first a put of the current value). Ends
   * on close(); throws a {@link ChangesOverflowError} when the consumer falls `maxBuffered` changes
   * behind.
   */
  changes(options: ChangesOptions = {}): AsyncIterableIterator<Change<T>> {
    return this.openStream(options, () => {
      const e = entryOf(this.hub.root.snapshot() as Snapshot<T>, this.path);
      return e
        ? [{ type: 'put', key: this.name, value: e.value, prev: undefined, revision: this.hub.revision }]
        : [];
    });
  }

  /** @internal */
  apply(edit: Edit<T>, revision: bigint): void {
    this.value = edit.next?.value;
    if (this.changeFeed.observed) this.changeFeed.next(toChange(edit, this.name, revision));
    this.values.next(this.value);
  }
}
