import {
  type Bytes,
  compare,
  type Etcd,
  InvalidArgumentError,
  type KeyValue,
  op,
  symbolObservable,
} from '@etcdkit/core';
import { checkWaitOptions } from '@etcdkit/core/internal';
import { toInt64 } from './int64.js';
import { checkClient, checkKey } from './key.js';

/**
 * A value and its version. The version is the key's mod revision (0n: the key does not exist):
 * it changes on every write and never comes back, so a delete and re-create cannot fool
 * trySet() as a per-key write count would.
 */
export interface Versioned {
  /** The value, or undefined when the key does not exist. */
  value: Buffer | undefined;
  /** The key's mod revision (0n when it does not exist): pass it to {@link SharedValue.trySet}. */
  version: bigint;
}

/** What {@link SharedValue.subscribe} accepts besides a function. */
export interface SharedValueObserver {
  /** Called with the current value, then with each new one. */
  next?(v: Versioned): void;
  /** The watch failed for good (e.g. its history was compacted, the client closed); nothing follows. */
  error?(err: unknown): void;
  /** The subscription ended (unsubscribe() does not call it). */
  complete?(): void;
}

/**
 * One value shared by many processes, set only by whoever saw the latest version (after
 * Curator's SharedValue): read it with get(), change it with trySet(value, version), follow it
 * with changes() or subscribe().
 */
export class SharedValue {
  /** The client the value's key lives on. */
  readonly etcd: Etcd;
  /** The value's key. */
  readonly key: Buffer;
  private readonly label: string;

  /**
   * A shared value in the key `key` of `etcd`.
   *
   * @throws {@link @etcdkit/core!InvalidArgumentError} for a missing client or an empty key.
   */
  constructor(etcd: Etcd, key: Bytes) {
    checkClient(etcd, 'SharedValue');
    this.etcd = etcd;
    this.key = checkKey(key, 'SharedValue');
    this.label = `shared value ${JSON.stringify(this.key.toString())}`;
  }

  /**
   * Read the value and its version (one linearizable read).
   *
   * @returns the value (undefined when the key does not exist) and its version, for {@link
   * SharedValue.trySet}.
   */
  async get(options: { signal?: AbortSignal } = {}): Promise<Versioned> {
    checkWaitOptions(options, `${this.label} get()`);
    return versioned(await this.etcd.get(this.key, options.signal ? { signal: options.signal } : {}));
  }

  /**
   * Write `value` if the version is still `expectedVersion` (0n: only if the key does not
   * exist). False when someone wrote in between: get() again and decide anew.
   */
  async trySet(value: Bytes, expectedVersion: bigint | number): Promise<boolean> {
    if (value === undefined || value === null)
      throw new InvalidArgumentError(`${this.label} trySet() needs a value (use "" for an empty one)`);
    const expected = toInt64(expectedVersion, `${this.label} trySet() expectedVersion`);
    if (expected < 0n)
      throw new InvalidArgumentError(`${this.label} trySet(): expectedVersion must be >= 0, got ${expected}`);
    const r = await this.etcd
      .txn()
      .if(compare.modRevision(this.key, '==', expected))
      .then(op.put(this.key, value))
      .commit();
    return r.succeeded;
  }

  /** Write `value` whatever the version; resolves with the new version. */
  async set(value: Bytes): Promise<bigint> {
    return (await this.etcd.put(this.key, value)).revision;
  }

  /** The value now, then every change (a delete gives `{ value: undefined, version: 0n }`). */
  async *changes(options: { signal?: AbortSignal } = {}): AsyncGenerator<Versioned, void, undefined> {
    checkWaitOptions(options, `${this.label} changes()`);
    const signal = options.signal;
    const r = await this.etcd.range({ key: this.key, ...(signal ? { signal } : {}) });
    yield versioned(r.kvs[0]);
    const w = this.etcd.watch({
      key: this.key,
      startRevision: r.revision + 1n,
      ...(signal ? { signal } : {}),
    });
    try {
      for await (const ev of w) yield ev.type === 'delete' ? versioned(undefined) : versioned(ev.kv);
    } finally {
      w.close();
    }
  }

  /**
   * Observe the value: the current one, then every change. An Observable in the TC39 sense,
   * so RxJS `from(sharedValue)` works too.
   */
  subscribe(observer: SharedValueObserver | ((v: Versioned) => void)): {
    /** Stop observing (closes the watch; `complete` is not called). */
    unsubscribe(): void;
  } {
    const o: SharedValueObserver = typeof observer === 'function' ? { next: observer } : observer;
    if (o === null || typeof o !== 'object')
      throw new InvalidArgumentError(`${this.label} subscribe() takes a function or an observer`);
    const ac = new AbortController();
    void (async () => {
      try {
        for await (const v of this.changes({ signal: ac.signal })) o.next?.(v);
        if (!ac.signal.aborted) o.complete?.();
      } catch (err) {
        if (ac.signal.aborted) return;
        if (o.error) o.error(err);
        // As RxJS does with an error nobody handles: raise it where the host reports it.
        else
          setTimeout(() => {
            throw err;
          });
      }
    })();
    return { unsubscribe: () => ac.abort() };
  }

  [symbolObservable](): this {
    return this;
  }
}

function versioned(kv: KeyValue | undefined): Versioned {
  return kv ? { value: kv.value, version: kv.modRevision } : { value: undefined, version: 0n };
}
