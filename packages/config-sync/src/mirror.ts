import { isUtf8 } from 'node:buffer';
import {
  AbortError,
  ClientClosedError,
  CompactedError,
  DeadlineExceededError,
  type Etcd,
  type EtcdError,
  InvalidArgumentError,
  type KeyValue,
  UnavailableError,
  UnknownEtcdError,
  type WatchBatch,
  type Watcher,
} from '@etcdkit/core';
import { diagnostics, logOf } from '@etcdkit/core/internal';
import { type Decoder, decoders } from './decoders.js';
import { LastKnownGoodError } from './errors.js';
import {
  bytesLabel,
  type FileScope,
  LastKnownGoodWriter,
  readLastKnownGood,
  serialize,
} from './last-known-good.js';
import { type Edit, type Entry, entriesOf, entryOf, type Rev, Snapshot, toRev } from './snapshot.js';
import type { InferOutput, StandardSchemaV1 } from './standard-schema.js';
import { type Checked, isPromise, sameValue, ValuePipeline } from './values.js';
import { ConfigView, Hub, type InvalidEvent, type ResyncEvent } from './view.js';

/** Options of {@link mirror} other than how values are decoded and validated. */
export interface MirrorBaseOptions<T> {
  /** Keys per list request. Default 1000. */
  pageSize?: number;
  /**
   * Values to serve when etcd cannot be reached at start (and no last-known-good file can be
   * read). Without them and without a file, mirror() fails fast. They are replaced by what
   * etcd holds as soon as it is reached: they are not per-key fallbacks.
   */
  initial?: Readonly<Record<string, T>> | Iterable<readonly [string, T]>;
  /**
   * A file the mirror rewrites atomically after every change, holding the last good raw value
   * of each key. When etcd cannot be reached at start, the mirror starts from it (status
   * 'stale') and catches up once etcd answers. Keeps the raw bytes of every value in memory.
   */
  lastKnownGoodFile?: string;
  /** How long the first read may take before etcd counts as unreachable. Default: the client's timeouts. */
  startTimeoutMs?: number;
  /** Aborts the start (mirror() then rejects with an AbortError). Use close() later. */
  signal?: AbortSignal;
  /** Deep-freeze plain objects and arrays among the values, so snapshots are immutable all the way. Default true. */
  freeze?: boolean;
  /**
   * Called while the prefix is listed, after each page: keys read so far and keys in the prefix
   * at the listed revision. Listing happens at start and again after a compaction outran the
   * watch; a large prefix takes a while, and this lets a program show how far it got.
   */
  onListProgress?: (listed: number, total: number) => void;
}

/**
 * Options of {@link mirror}: {@link MirrorBaseOptions} plus a decoder and a schema. Checked when
 * `mirror()` is called: a bad one rejects with an InvalidArgumentError.
 */
export interface MirrorOptions<T> extends MirrorBaseOptions<T> {
  /** Bytes → value. Default: UTF-8 text. See `decoders` for JSON, YAML, raw bytes. */
  decode?: Decoder<unknown>;
  /** Any Standard Schema validator (zod, valibot, arktype…), applied after decode. */
  schema?: StandardSchemaV1<unknown, T>;
}

/** Where the current content came from. */
export type MirrorSource = 'etcd' | 'last-known-good' | 'initial';

const FIRST_BACKOFF_MS = 100;
// A retry costs one failed connection attempt; a short cap means catching up soon after etcd returns.
const MAX_BACKOFF_MS = 1000;

/**
 * A live copy of every key under a prefix. It lists the prefix page by page at one revision R,
 * then watches from R + 1, applying each revision's events together: every revision that
 * changes the content yields exactly one new snapshot. After a reconnect the watch resumes
 * after the last applied revision; if that revision was compacted meanwhile, the prefix is
 * listed again and the difference to the cache is applied as missed puts and deletes.
 */
export class Mirror<T> extends ConfigView<T> implements AsyncDisposable {
  /** The mirrored prefix, as etcd keys (inside the client's namespace). */
  readonly etcdPrefix: Buffer;
  private readonly etcd: Etcd;
  private readonly pipeline: ValuePipeline<T>;
  private readonly pageSize: number;
  private readonly onListProgress: ((listed: number, total: number) => void) | undefined;
  private readonly lkg: LastKnownGoodWriter | undefined;
  private readonly scope: FileScope;
  private readonly stop = new AbortController();
  /** Keys whose newest value in etcd was rejected: the revision of that value and why. */
  private readonly rejected = new Map<string, { rev: Rev; event: InvalidEvent }>();
  private origin: MirrorSource = 'etcd';
  private loop: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private onWatching: (() => void) | undefined;
  private backoffMs = FIRST_BACKOFF_MS;

  /** @internal use mirror() */
  constructor(etcd: Etcd, prefix: Buffer, options: MirrorOptions<T>) {
    const hub = new Hub<T>();
    super(hub, '', Snapshot.empty());
    hub.root = this;
    hub.prefix = prefix.toString('utf8');
    hub.log = logOf(etcd);
    this.etcd = etcd;
    this.etcdPrefix = prefix;
    this.pageSize = options.pageSize ?? 1000;
    this.onListProgress = options.onListProgress;
    this.pipeline = new ValuePipeline(
      options.decode ?? decoders.text,
      options.schema,
      options.freeze ?? true,
    );
    this.scope = { prefix: bytesLabel(prefix), namespace: bytesLabel(etcd.prefix ?? Buffer.alloc(0)) };
    this.lkg = options.lastKnownGoodFile
      ? new LastKnownGoodWriter(
          options.lastKnownGoodFile,
          () => this.renderFile(),
          (e) => this.hub.error(e),
        )
      : undefined;
  }

  /** Where the current content came from: etcd, or (status 'stale') the file or the initial defaults. */
  get source(): MirrorSource {
    return this.origin;
  }

  /** Keys whose newest value in etcd was rejected (they keep their last good value, if any), with the reason. */
  invalidKeys(): ReadonlyMap<string, InvalidEvent> {
    return new Map([...this.rejected].map(([k, r]) => [k, r.event]));
  }

  /** @internal */
  async start(options: MirrorOptions<T>): Promise<void> {
    const userSignal = options.signal;
    const signal = userSignal ? AbortSignal.any([userSignal, this.stop.signal]) : this.stop.signal;
    const aborted = () => new AbortError('mirror() was aborted', { cause: userSignal?.reason });
    let listed: Listing;
    try {
      listed = await this.list(signal, options.startTimeoutMs);
    } catch (err) {
      if (userSignal?.aborted) throw aborted();
      const fallback = options.lastKnownGoodFile !== undefined || options.initial !== undefined;
      if (!fallback || !(err instanceof UnavailableError || err instanceof DeadlineExceededError)) throw err;
      const deferred = await this.startDegraded(err, options);
      this.hub.lastError = err;
      this.hub.setStatus('stale');
      this.launch(true);
      this.defer(deferred);
      return;
    }
    const deferred = await this.loadItems(listed.items, listed.revision);
    if (diagnostics.config.hasSubscribers)
      diagnostics.config.publish({
        type: 'synced',
        prefix: this.hub.prefix,
        revision: listed.revision,
        keys: listed.items.length,
      });
    this.lkg?.schedule();
    const watching = new Promise<void>((resolve) => {
      this.onWatching = resolve;
    });
    this.launch(false);
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(aborted());
      if (userSignal?.aborted) return onAbort();
      userSignal?.addEventListener('abort', onAbort, { once: true });
      void watching.then(() => {
        userSignal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
    this.defer(deferred);
  }

  /**
   * Events found while starting are emitted just after mirror() resolves, so listeners added
   * right after `await mirror(...)` get them; invalidKeys() has them too.
   */
  private defer(events: InvalidEvent[]): void {
    if (events.length === 0) return;
    setImmediate(() => {
      for (const e of events) if (!this.hub.ended) this.hub.invalid(e);
    });
  }

  private launch(needsList: boolean): void {
    this.loop = this.run(needsList).catch((err: unknown) => {
      // Only a bug gets here; end visibly rather than hang.
      this.hub.end(
        err instanceof Error
          ? err
          : new UnknownEtcdError(`config mirror failed: ${String(err)}`, { cause: err }),
      );
    });
  }

  /** Stop watching; subscribers complete, changes() iterators end. The etcd client stays open. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stop.abort(new AbortError('the mirror was closed'));
      this.onWatching?.();
      await this.loop;
      await this.lkg?.flush();
      this.hub.end();
    })();
    return this.closing;
  }

  /** Same as close(), for `await using cfg = await mirror(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- reading etcd ------------------------------------------------------------------------

  /** Every key of the prefix at one revision; starts over if that revision is compacted mid-way. */
  private async list(signal: AbortSignal, timeoutMs?: number): Promise<Listing> {
    const call = { signal, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
    for (;;) {
      const head = await this.etcd.range({ prefix: this.etcdPrefix, countOnly: true, ...call });
      const items: ListedItem[] = [];
      try {
        for await (const kv of this.etcd.scan({
          prefix: this.etcdPrefix,
          pageSize: this.pageSize,
          revision: head.revision,
          ...call,
        })) {
          items.push(this.item(kv));
          if (items.length % this.pageSize === 0) this.onListProgress?.(items.length, head.count);
        }
        if (items.length % this.pageSize !== 0) this.onListProgress?.(items.length, head.count);
        return { revision: head.revision, items };
      } catch (err) {
        if (err instanceof CompactedError && !signal.aborted) continue;
        throw err;
      }
    }
  }

  private item(kv: KeyValue): ListedItem {
    const rel = kv.key.subarray(this.etcdPrefix.length);
    return {
      key: isUtf8(rel) ? rel.toString('utf8') : undefined,
      rawKey: rel,
      raw: kv.value,
      rev: toRev(kv.modRevision),
    };
  }

  private badKey(item: ListedItem, revision: bigint): InvalidEvent {
    return {
      key: item.rawKey.toString('utf8'),
      revision,
      reason: `the key is not valid UTF-8 (hex ${item.rawKey.toString('hex')}); config keys must be text`,
    };
  }

  private check(items: readonly ListedItem[]): Checked<T>[] | Promise<Checked<T>[]> {
    let async = false;
    const out = items.map((it) => {
      const r = this.pipeline.check(it.raw, it.key!);
      if (isPromise(r)) async = true;
      return r;
    });
    return async ? Promise.all(out) : (out as Checked<T>[]);
  }

  private entry(item: ListedItem, value: T): Entry<T> {
    // The copy detaches the bytes from the network message they arrived in.
    return { value, rev: item.rev, raw: this.lkg ? Buffer.from(item.raw) : undefined };
  }

  /**
   * What one checked value does to the cache: an invalid one is reported and changes nothing; one
   * equal to the cached value makes no new snapshot but its revision is kept for the next diff;
   * any other becomes a new entry.
   */
  private judge(
    key: string,
    item: ListedItem,
    prev: Entry<T> | null | undefined,
    r: Checked<T>,
    revision: bigint,
    invalid: InvalidEvent[],
  ): Entry<T> | 'unchanged' | 'invalid' {
    if (!r.ok) {
      invalid.push(this.reject(key, item.rev, revision, r));
      return 'invalid';
    }
    this.rejected.delete(key);
    if (prev && sameValue(prev.value, r.value)) {
      prev.rev = item.rev;
      if (this.lkg) prev.raw = Buffer.from(item.raw);
      return 'unchanged';
    }
    return this.entry(item, r.value);
  }

  private reject(key: string, rev: Rev, revision: bigint, r: Checked<T> & { ok: false }): InvalidEvent {
    const event: InvalidEvent = { key, revision, reason: r.reason };
    if (r.issues) event.issues = r.issues;
    if (r.cause !== undefined) event.cause = r.cause;
    this.rejected.set(key, { rev, event });
    return event;
  }

  /** The first content (from etcd or the file): nobody observes the mirror yet. */
  private async loadItems(all: readonly ListedItem[], revision: bigint): Promise<InvalidEvent[]> {
    const invalid: InvalidEvent[] = [];
    const items: ListedItem[] = [];
    for (const it of all) {
      if (it.key === undefined) invalid.push(this.badKey(it, revision));
      else items.push(it);
    }
    const results = await this.check(items);
    const map = new Map<string, Entry<T>>();
    items.forEach((it, i) => {
      const r = results[i]!;
      if (r.ok) map.set(it.key!, this.entry(it, r.value));
      else invalid.push(this.reject(it.key!, it.rev, revision, r));
    });
    this.hub.revision = revision;
    this.reset(Snapshot.of(map, revision));
    return invalid;
  }

  private async startDegraded(err: EtcdError, options: MirrorOptions<T>): Promise<InvalidEvent[]> {
    const path = options.lastKnownGoodFile;
    let fileError: LastKnownGoodError | undefined;
    if (path !== undefined) {
      try {
        const file = await readLastKnownGood(path, this.scope);
        const items = file.entries.map((e) => ({
          key: e.key,
          rawKey: Buffer.from(e.key),
          raw: e.raw,
          rev: e.rev,
        }));
        const deferred = await this.loadItems(items, file.revision);
        this.origin = 'last-known-good';
        return deferred;
      } catch (e) {
        if (!(e instanceof LastKnownGoodError)) throw e;
        fileError = e;
      }
    }
    if (options.initial === undefined)
      throw new LastKnownGoodError(
        path!,
        `etcd is unreachable (${err.message}) and ${fileError!.message}; start etcd, or pass \`initial\` values`,
        { cause: fileError },
      );
    const map = new Map<string, Entry<T>>();
    const pairs = Symbol.iterator in options.initial ? options.initial : Object.entries(options.initial);
    for (const [key, value] of pairs as Iterable<readonly [string, T]>)
      map.set(key, { value: this.pipeline.adopt(value), rev: 0, raw: undefined });
    this.reset(Snapshot.of(map, 0n));
    this.origin = 'initial';
    return [];
  }

  // ---- the sync loop -----------------------------------------------------------------------

  private get stopped(): boolean {
    return this.stop.signal.aborted;
  }

  private async run(needsList: boolean): Promise<void> {
    let reason: ResyncEvent['reason'] = 'recovered';
    while (!this.stopped) {
      if (needsList && !(await this.resync(reason))) return;
      const outcome = await this.watch();
      this.onWatching?.();
      if (outcome === 'stop') return;
      needsList = outcome === 'compacted';
      reason = 'compacted';
      if (outcome === 'retry') await this.pause();
    }
  }

  private async pause(): Promise<void> {
    const ms = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    const signal = this.stop.signal;
    if (signal.aborted) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** List again and apply the difference; retried until it works or the mirror stops. */
  private async resync(reason: ResyncEvent['reason']): Promise<boolean> {
    let reported = false;
    while (!this.stopped) {
      if (this.hub.status !== 'stale') this.hub.setStatus('syncing');
      try {
        const listed = await this.list(this.stop.signal);
        await this.applyListing(listed, reason);
        this.backoffMs = FIRST_BACKOFF_MS;
        return true;
      } catch (err) {
        if (this.stopped) return false;
        if (err instanceof ClientClosedError) {
          this.hub.end(err);
          return false;
        }
        const e =
          err instanceof Error
            ? err
            : new UnknownEtcdError(`config mirror failed: ${String(err)}`, { cause: err });
        // One report per outage; later failures only update lastError.
        if (!reported) this.hub.error(e);
        else this.hub.lastError = e;
        reported = true;
        if (this.hub.status !== 'stale') this.hub.setStatus('reconnecting');
        await this.pause();
      }
    }
    return false;
  }

  private async applyListing(listed: Listing, reason: ResyncEvent['reason']): Promise<void> {
    const { revision } = listed;
    const current = this.current;
    const invalid: InvalidEvent[] = [];
    const present = new Set<string>();
    const candidates: { item: ListedItem; prev: Entry<T> | undefined }[] = [];
    for (const item of listed.items) {
      if (item.key === undefined) {
        invalid.push(this.badKey(item, revision));
        continue;
      }
      present.add(item.key);
      const prev = entryOf(current, item.key);
      // Unchanged since we saw it: skip without decoding.
      if (prev?.rev === item.rev || this.rejected.get(item.key)?.rev === item.rev) continue;
      candidates.push({ item, prev });
    }
    const results = await this.check(candidates.map((c) => c.item));
    if (this.stopped) return;
    const edits: Edit<T>[] = [];
    let rewrite = false;
    candidates.forEach(({ item, prev }, i) => {
      const key = item.key!;
      const next = this.judge(key, item, prev, results[i]!, revision, invalid);
      if (next === 'unchanged') rewrite = true;
      else if (next !== 'invalid') edits.push({ key, next, prev: prev ?? null });
    });
    let deletes = 0;
    for (const [key, prev] of entriesOf(current))
      if (!present.has(key)) {
        edits.push({ key, next: null, prev });
        deletes++;
      }
    for (const key of this.rejected.keys()) if (!present.has(key)) this.rejected.delete(key);
    this.hub.revision = revision;
    this.origin = 'etcd';
    if (edits.length) this.hub.commit(edits, revision);
    if (this.hub.status === 'stale') this.hub.setStatus('syncing');
    if (edits.length || rewrite || reason === 'recovered') this.lkg?.schedule();
    for (const e of invalid) this.hub.invalid(e);
    this.hub.resync({ revision, reason, puts: edits.length - deletes, deletes });
  }

  /** One watch from the revision after the last applied one, until it ends. */
  private async watch(): Promise<'compacted' | 'retry' | 'stop'> {
    let watcher: Watcher;
    try {
      watcher = this.etcd.watch({
        prefix: this.etcdPrefix,
        startRevision: this.hub.revision + 1n,
        signal: this.stop.signal,
      });
    } catch (err) {
      return this.watchFailed(err);
    }
    watcher.on('created', () => {
      this.backoffMs = FIRST_BACKOFF_MS;
      this.hub.setStatus('live');
      this.onWatching?.();
    });
    watcher.on('disconnected', (err) => {
      if (this.hub.status === 'reconnecting') this.hub.lastError = err;
      else this.hub.error(err);
      this.hub.setStatus('reconnecting');
      this.onWatching?.();
    });
    try {
      for await (const batch of watcher.batches({ bookmarks: true })) {
        await this.applyBatch(batch);
        if (this.stopped) return 'stop';
      }
      return this.stopped ? 'stop' : 'retry';
    } catch (err) {
      return this.watchFailed(err);
    } finally {
      watcher.removeAllListeners();
      watcher.close();
    }
  }

  private watchFailed(err: unknown): 'compacted' | 'retry' | 'stop' {
    if (this.stopped) return 'stop';
    if (err instanceof ClientClosedError) {
      this.hub.end(err);
      return 'stop';
    }
    const e =
      err instanceof Error
        ? err
        : new UnknownEtcdError(`config mirror failed: ${String(err)}`, { cause: err });
    this.hub.error(e);
    if (err instanceof CompactedError) return 'compacted';
    this.hub.setStatus('reconnecting');
    return 'retry';
  }

  /** All events of one revision become one snapshot (or none, if nothing visible changed). */
  private async applyBatch(batch: WatchBatch): Promise<void> {
    const { revision, events } = batch;
    if (events.length === 0) {
      if (revision > this.hub.revision) this.hub.revision = revision;
      return;
    }
    const items = events.map((ev) => this.item(ev.kv));
    const puts = items.filter((it, i) => events[i]!.type === 'put' && it.key !== undefined);
    const results = await this.check(puts);
    if (this.stopped) return;
    const invalid: InvalidEvent[] = [];
    const edits: Edit<T>[] = [];
    const working = new Map<string, Entry<T> | null>();
    let rewrite = false;
    let p = 0;
    items.forEach((item, i) => {
      const key = item.key;
      if (key === undefined) {
        invalid.push(this.badKey(item, revision));
        return;
      }
      const prev = working.has(key) ? working.get(key)! : (entryOf(this.current, key) ?? null);
      if (events[i]!.type === 'delete') {
        this.rejected.delete(key);
        if (prev) {
          edits.push({ key, next: null, prev });
          working.set(key, null);
        }
        return;
      }
      const next = this.judge(key, item, prev, results[p++]!, revision, invalid);
      if (next === 'unchanged') rewrite = true;
      else if (next !== 'invalid') {
        edits.push({ key, next, prev });
        working.set(key, next);
      }
    });
    this.hub.revision = revision;
    if (edits.length) this.hub.commit(edits, revision);
    if (edits.length || rewrite) this.lkg?.schedule();
    for (const e of invalid) this.hub.invalid(e);
  }

  private renderFile(): string {
    const entries = [];
    for (const [key, e] of entriesOf(this.current)) if (e.raw) entries.push({ key, raw: e.raw, rev: e.rev });
    return serialize(this.scope, this.hub.revision, entries);
  }
}

interface ListedItem {
  /** Relative to the prefix; undefined when the key is not UTF-8. */
  key: string | undefined;
  rawKey: Buffer;
  raw: Buffer;
  rev: Rev;
}

interface Listing {
  revision: bigint;
  items: ListedItem[];
}

/**
 * Mirror the keys under `prefix` (relative to the client, which may be a namespace view).
 * Resolves once the content is loaded and the watch is running (or, when etcd is unreachable
 * and `lastKnownGoodFile` or `initial` is given, at once in status 'stale').
 *
 * With a `schema` (zod, valibot, arktype, any Standard Schema validator) every value is
 * decoded, then validated, and the mirror's type is the schema's output type.
 *
 * @throws {@link @etcdkit/core!InvalidArgumentError} for bad options; an AbortError when
 * `signal` aborts the start; the client's error (e.g. an UnavailableError) when etcd cannot be
 * read and neither `lastKnownGoodFile` nor `initial` is given.
 * @example
 * ```ts
 * const Limits = z.object({ rps: z.number().int().positive() });
 * const cfg = await mirror(etcd, 'limits/', { decode: decoders.json, schema: Limits });
 * cfg.get('api')?.rps; // number | undefined
 * cfg.on('invalid', ({ key, reason }) => log.warn({ key }, reason)); // the last good value stays
 * ```
 */
export function mirror<S extends StandardSchemaV1>(
  etcd: Etcd,
  prefix: string | Uint8Array,
  options: MirrorBaseOptions<InferOutput<S>> & { decode?: Decoder<unknown>; schema: S },
): Promise<Mirror<InferOutput<S>>>;
/**
 * Mirror the keys under `prefix`, each value decoded by `decode` (default: UTF-8 text). Resolves
 * once the content is loaded and the watch is running (see the overload with a schema).
 *
 * @example
 * ```ts
 * const cfg = await mirror(etcd, 'config/');
 * cfg.get('db/url'); // string | undefined
 * cfg.subscribe((snapshot) => reconfigure(snapshot)); // the current snapshot, then one per change
 * ```
 */
export function mirror<T = string>(
  etcd: Etcd,
  prefix: string | Uint8Array,
  options?: MirrorBaseOptions<T> & { decode?: Decoder<T>; schema?: undefined },
): Promise<Mirror<T>>;
export async function mirror<T>(
  etcd: Etcd,
  prefix: string | Uint8Array,
  options: MirrorOptions<T> = {},
): Promise<Mirror<T>> {
  validate(etcd, prefix, options);
  const p = typeof prefix === 'string' ? Buffer.from(prefix, 'utf8') : Buffer.from(prefix);
  const m = new Mirror<T>(etcd, p, options);
  try {
    await m.start(options);
  } catch (err) {
    await m.close();
    throw err;
  }
  return m;
}

function validate(etcd: unknown, prefix: unknown, o: MirrorOptions<unknown>): void {
  const client = etcd as Partial<Etcd> | null;
  if (
    typeof client?.scan !== 'function' ||
    typeof client.watch !== 'function' ||
    typeof client.range !== 'function'
  )
    throw new InvalidArgumentError(
      'mirror() needs an Etcd client (or a namespace view) as its first argument',
    );
  if (typeof prefix !== 'string' && !(prefix instanceof Uint8Array))
    throw new InvalidArgumentError(
      'mirror() needs the key prefix as a string or Uint8Array ("" for every key)',
    );
  if (typeof o !== 'object' || o === null)
    throw new InvalidArgumentError('mirror() options must be an object');
  if (o.pageSize !== undefined && (!Number.isSafeInteger(o.pageSize) || o.pageSize < 1))
    throw new InvalidArgumentError(`pageSize must be a whole number >= 1, got ${o.pageSize}`);
  if (o.decode !== undefined && typeof o.decode !== 'function')
    throw new InvalidArgumentError(
      'decode must be a function (value: Buffer, key: string) => T; see `decoders`',
    );
  if (o.schema !== undefined && typeof o.schema?.['~standard']?.validate !== 'function')
    throw new InvalidArgumentError('schema must be a Standard Schema validator (zod, valibot, arktype, …)');
  if (
    o.lastKnownGoodFile !== undefined &&
    (typeof o.lastKnownGoodFile !== 'string' || o.lastKnownGoodFile === '')
  )
    throw new InvalidArgumentError('lastKnownGoodFile must be a file path');
  if (o.initial !== undefined && (typeof o.initial !== 'object' || o.initial === null))
    throw new InvalidArgumentError('initial must be an object or an iterable of [key, value] pairs');
  if (o.startTimeoutMs !== undefined && !(Number.isFinite(o.startTimeoutMs) && o.startTimeoutMs > 0))
    throw new InvalidArgumentError(`startTimeoutMs must be a number > 0, got ${o.startTimeoutMs}`);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
    throw new InvalidArgumentError('signal must be an AbortSignal');
  if (o.onListProgress !== undefined && typeof o.onListProgress !== 'function')
    throw new InvalidArgumentError(
      'onListProgress must be a function (listed: number, total: number) => void',
    );
}
