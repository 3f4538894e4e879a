import {
  type ConfigSnapshot,
  type InvalidEvent,
  type Mirror,
  type MirrorStatus,
  mirror,
  type Observer,
  type SubscribeOptions,
  type Subscription,
} from '@etcdkit/config-sync';
import { type Etcd, InvalidArgumentError, symbolObservable } from '@etcdkit/core';
import { type Log, logOf, MAX_TIMER_MS } from '@etcdkit/core/internal';
import { EventEmitter } from 'eventemitter3';
import { decodeEndpoint, type Instance } from './format.js';
import { checkClient, checkService, servicePrefix } from './names.js';

/** How pick() chooses among the instances that are not draining. */
export type PickStrategy = 'round-robin' | 'random';

/** Options of {@link discover}. */
export interface DiscoverOptions {
  /** Default 'round-robin'. */
  strategy?: PickStrategy;
  /** The scheme url() puts before addresses that have none. Default 'http'. */
  scheme?: string;
  /** Aborts the start (discover() then rejects with an AbortError). Use close() later. */
  signal?: AbortSignal;
  /** How long the first read may take. Default: the client's timeouts. */
  startTimeoutMs?: number;
}

/** Events of a {@link Discovery} (an eventemitter3 emitter): `svc.on('down', (instance) => ...)`. */
export interface DiscoveryEvents {
  /** An instance appeared. */
  up: [instance: Instance];
  /** An instance is gone (closed, expired, or its key deleted). */
  down: [instance: Instance];
  /** An instance's value changed (address, metadata or draining). */
  update: [instance: Instance, previous: Instance];
  /** An instance started draining: pick() no longer returns it. */
  draining: [instance: Instance];
  /** A value under the service's prefix is not an endpoint; it is left out (the last good one stays). */
  invalid: [event: InvalidEvent];
  /** The underlying mirror's status: syncing, live, reconnecting, closed. */
  status: [status: MirrorStatus, previous: MirrorStatus];
  /** Something the view works around (a disconnect, a relist that failed, a throwing subscriber). */
  error: [error: Error];
}

interface View {
  snapshot: ConfigSnapshot<Instance>;
  all: readonly Instance[];
  live: readonly Instance[];
}

const byId = (a: Instance, b: Instance): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * The live instances of one service: a config-sync mirror of `<service>/`, so the list has no
 * gap (it resumes after a disconnect and lists again after a compaction). The list is
 * immutable and replaced when an instance comes, goes or changes.
 */
export class Discovery extends EventEmitter<DiscoveryEvents> implements AsyncDisposable {
  /** The service followed. */
  readonly service: string;
  /** How {@link Discovery.pick} chooses. */
  readonly strategy: PickStrategy;
  private readonly scheme: string;
  private readonly source: Mirror<Instance>;
  private view: View;
  private turn = 0;
  private readonly follow: Subscription;

  /** @internal use discover() */
  constructor(
    service: string,
    source: Mirror<Instance>,
    options: DiscoverOptions,
    log: Log = logOf(undefined),
  ) {
    super();
    this.service = service;
    this.strategy = options.strategy ?? 'round-robin';
    this.scheme = options.scheme ?? 'http';
    this.source = source;
    this.view = this.viewOf(source.snapshot());
    source.on('invalid', (e) => this.emit('invalid', e));
    // Nobody listening here: the client's logger says it (the mirror counts this listener as one).
    source.on('error', (e) => {
      if (!this.emit('error', e) && log.enabled)
        log.warn(
          `discovery-error:${service}`,
          { service, err: e },
          `etcdkit: discovery of ${service}: ${e.message}`,
        );
    });
    source.on('status', (s, p) => this.emit('status', s, p));
    let previous = source.snapshot();
    this.follow = source.subscribe((snap) => {
      if (snap === previous) return;
      const before = previous;
      previous = snap;
      this.announce(before, snap);
    });
  }

  private viewOf(snapshot: ConfigSnapshot<Instance>): View {
    const all = Object.freeze([...snapshot.values()].sort(byId));
    return { snapshot, all, live: Object.freeze(all.filter((i) => !i.draining)) };
  }

  private current(snapshot = this.source.snapshot()): View {
    if (this.view.snapshot !== snapshot) this.view = this.viewOf(snapshot);
    return this.view;
  }

  private announce(before: ConfigSnapshot<Instance>, after: ConfigSnapshot<Instance>): void {
    for (const [id, inst] of after) {
      const prev = before.get(id);
      if (!prev) this.emit('up', inst);
      else if (prev !== inst) {
        this.emit('update', inst, prev);
        if (inst.draining && !prev.draining) this.emit('draining', inst);
      }
    }
    for (const [id, prev] of before) if (!after.has(id)) this.emit('down', prev);
  }

  /** Every instance, draining ones included, ordered by id. Immutable; a new array after each change. */
  instances(): readonly Instance[] {
    return this.current().all;
  }

  /** The instances that take new work (not draining), ordered by id. */
  available(): readonly Instance[] {
    return this.current().live;
  }

  /** One instance by id. */
  get(id: string): Instance | undefined {
    return this.source.get(id);
  }

  /** The next instance to use (round-robin or random over those not draining); undefined when there is none. */
  pick(): Instance | undefined {
    const live = this.current().live;
    if (live.length === 0) return undefined;
    if (this.strategy === 'random') return live[Math.floor(Math.random() * live.length)];
    this.turn = (this.turn + 1) % Number.MAX_SAFE_INTEGER;
    return live[this.turn % live.length];
  }

  /** The addresses of the instances that take new work, for clients that balance themselves. */
  endpoints(): readonly string[] {
    return this.current().live.map((i) => i.address);
  }

  /**
   * For HTTP clients: `path` resolved against a picked instance (`http://<address>` unless the
   * address has a scheme of its own), e.g. `fetch(svc.url('/v1/invoices')!)`. Undefined when no
   * instance is available.
   */
  url(path = '/'): string | undefined {
    const inst = this.pick();
    if (!inst) return undefined;
    const base = /^[a-z][a-z0-9+.-]*:\/\//i.test(inst.address)
      ? inst.address
      : `${this.scheme}://${inst.address}`;
    return new URL(path, base).href;
  }

  /** The revision the list reflects. */
  get revision(): bigint {
    return this.source.revision;
  }

  /** The underlying mirror's status: syncing, live, reconnecting, stale or closed. */
  get status(): MirrorStatus {
    return this.source.status;
  }

  /**
   * The current list at once, then a new one after every change; completes on close().
   * Bound, like config-sync's subscribe (usable with useSyncExternalStore).
   */
  readonly subscribe = (
    target: Observer<readonly Instance[]> | ((instances: readonly Instance[]) => void),
    options?: SubscribeOptions,
  ): Subscription => {
    const o = typeof target === 'function' ? { next: target } : target;
    if (typeof o !== 'object' || o === null)
      throw new InvalidArgumentError('subscribe() needs a function or an observer { next, error, complete }');
    return this.source.subscribe(
      {
        next: (snap) => o.next?.(this.current(snap).all),
        error: (err) => o.error?.(err),
        complete: () => o.complete?.(),
      },
      options,
    );
  };

  /** The Observable interop point: `from(svc)` in RxJS. */
  '@@observable'(): this {
    return this;
  }

  /** `for await (const list of svc)`: the current list, then the newest one each time round. */
  [Symbol.asyncIterator](): AsyncIterableIterator<readonly Instance[]> {
    return this.iterate();
  }

  /** Like iterating the view, ending (with an AbortError) when `signal` aborts. */
  async *iterate(
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<readonly Instance[], void, undefined> {
    for await (const snap of this.source.iterate(options)) yield this.current(snap).all;
  }

  /** Stop following etcd; subscribers complete. The client stays open. */
  async close(): Promise<void> {
    this.follow.unsubscribe();
    await this.source.close();
  }

  /** Same as close(), for `await using svc = await discover(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

Object.defineProperty(Discovery.prototype, symbolObservable, {
  value: function (this: unknown) {
    return this;
  },
  configurable: true,
  writable: true,
});

/** Follow the instances of `service`; resolves once the current list is loaded and watched. */
export async function discover(
  etcd: Etcd,
  service: string,
  options: DiscoverOptions = {},
): Promise<Discovery> {
  checkClient(etcd, 'discover()');
  checkService(service, 'discover()');
  if (typeof options !== 'object' || options === null)
    throw new InvalidArgumentError(
      'discover() options must be an object { strategy?, scheme?, signal?, startTimeoutMs? }',
    );
  const { strategy, scheme, signal, startTimeoutMs } = options;
  if (strategy !== undefined && strategy !== 'round-robin' && strategy !== 'random')
    throw new InvalidArgumentError(
      `strategy must be 'round-robin' or 'random', got ${JSON.stringify(strategy)}`,
    );
  if (scheme !== undefined && (typeof scheme !== 'string' || !/^[a-z][a-z0-9+.-]*$/i.test(scheme)))
    throw new InvalidArgumentError(
      `scheme must be a URL scheme such as 'http' or 'https', got ${JSON.stringify(scheme)}`,
    );
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new InvalidArgumentError('signal must be an AbortSignal');
  if (
    startTimeoutMs !== undefined &&
    (typeof startTimeoutMs !== 'number' || !(startTimeoutMs > 0) || startTimeoutMs > MAX_TIMER_MS)
  )
    throw new InvalidArgumentError(
      `startTimeoutMs must be a number of milliseconds from 1 to ${MAX_TIMER_MS}, got ${String(startTimeoutMs)}`,
    );
  const source = await mirror<Instance>(etcd, servicePrefix(service), {
    decode: decodeEndpoint,
    ...(signal ? { signal } : {}),
    ...(startTimeoutMs !== undefined ? { startTimeoutMs } : {}),
  });
  return new Discovery(service, source, options, logOf(etcd));
}
