import { CompactedError, EtcdError, FutureRevisionError, InvalidArgumentError } from './errors.js';
import type { Etcd } from './etcd.js';
import { Backoff } from './internal/backoff.js';
import { type Bytes, describe, FROM_KEY_END, prefixEnd, toBuffer, toKey } from './internal/bytes.js';
import type { KeySelector } from './internal/keyspace.js';
import { abortError } from './internal/signals.js';
import type { KeyValue } from './kv.js';
import { type Compare, compare, type Op, op } from './txn.js';

/**
 * How an STM transaction sees the store and what its commit checks; the levels of etcd's Go
 * `concurrency` STM.
 *
 * - `serializable-snapshot`: every read is at the revision of the first read (one snapshot);
 *   the commit fails if a key read or written changed since. The strictest level.
 * - `serializable`: reads from one snapshot; the commit fails if a key read changed.
 * - `repeatable-read`: each key is read at the latest revision the first time and then served
 *   from the attempt's cache; the commit fails if a key read changed. Reads of different keys
 *   may come from different revisions, so `fn` can see a state that never existed (the
 *   commit then fails, but what `fn` did outside etcd with it stays done).
 * - `read-committed`: reads are the latest committed values; the commit checks nothing, so
 *   concurrent read-modify-writes can overwrite each other (lost updates).
 */
export type StmIsolation = 'serializable-snapshot' | 'serializable' | 'repeatable-read' | 'read-committed';

const ISOLATIONS: readonly StmIsolation[] = [
  'serializable-snapshot',
  'serializable',
  'repeatable-read',
  'read-committed',
];

/** Options of {@link Etcd.stm}. */
export interface StmOptions {
  /** Default 'serializable-snapshot'. */
  isolation?: StmIsolation;
  /**
   * How many times `fn` runs again after a commit lost to a concurrent writer. Default:
   * unbounded, as in etcd's Go STM (bound it in time with `signal`). 0 = one attempt.
   */
  maxRetries?: number;
  /** Stops between attempts and during reads or the commit (AbortError). */
  signal?: AbortSignal;
  /** Keys `fn` reads anyway: fetched in one round trip at the start of the first attempt. */
  prefetch?: readonly Bytes[];
}

/** A key of a range read, with the value this attempt sees. */
export interface StmEntry {
  /** The key, relative to the client's namespace. */
  key: Buffer;
  /** Its value as this attempt sees it. */
  value: Buffer;
}

/** What `fn` gets: reads go through the isolation level, writes are buffered until the commit. */
export interface StmTx {
  /** The value as this attempt sees it (a buffered write of this attempt included), or undefined. */
  get(key: Bytes): Promise<Buffer | undefined>;
  /** The mod revision of `key` as read by this attempt (0n: absent). A buffered write is not counted. */
  rev(key: Bytes): Promise<bigint>;
  /** The keys of `{ prefix }` or `{ key, end }` in key order, buffered writes applied. */
  range(selector: StmRange): Promise<StmEntry[]>;
  /** Buffer a put, applied by the commit. */
  put(key: Bytes, value: Bytes, options?: { lease?: bigint }): void;
  /** Buffer a delete of one key, applied by the commit. */
  delete(key: Bytes): void;
  /** 1 for the first run of `fn`, 2 for the first retry, ... */
  readonly attempt: number;
}

/** A range for {@link StmTx.range}: every key under `prefix`, or the keys in `[key, end)`. */
export type StmRange =
  | {
      /** Every key that starts with this prefix. */
      prefix: Bytes;
    }
  | {
      /** First key of the range (inclusive). */
      key: Bytes;
      /** End of the range (exclusive). */
      end: Bytes;
    };

/** The commit kept losing to concurrent writers and `maxRetries` ran out. */
export class StmConflictError extends EtcdError {
  declare readonly code: 'STM_CONFLICT';
  /** Keys that had changed under the last attempt (relative to the client's namespace). */
  readonly keys: readonly Buffer[];
  /** Runs of `fn` in all. */
  readonly attempts: number;
  /**
   * Thrown by {@link Etcd.stm}: `keys` changed under the last attempt, after `attempts` runs of
   * `fn`.
   */
  constructor(keys: readonly Buffer[], attempts: number, options?: { cause?: unknown }) {
    const names = keys.slice(0, 5).map((k) => JSON.stringify(k.toString()));
    const more = keys.length > 5 ? ` and ${keys.length - 5} more` : '';
    super(
      'STM_CONFLICT',
      `stm: the commit lost to concurrent writers ${attempts} time${attempts === 1 ? '' : 's'}` +
        (names.length ? ` (changed: ${names.join(', ')}${more})` : '') +
        '; raise maxRetries, or touch fewer contended keys per transaction',
      options,
    );
    this.keys = keys;
    this.attempts = attempts;
  }
}

// A conflict means another transaction committed: retry soon, spread over about one commit time.
const BACKOFF = { baseMs: 2, capMs: 100 };

/**
 * Run `fn` as a transaction: its reads go through `isolation`, its writes are buffered and
 * applied by one txn whose compares check what the level requires. When the commit fails
 * because of a concurrent writer, `fn` runs again (after the shared backoff); an error thrown by
 * `fn`, or by etcd, ends the run with that error. A commit whose answer was lost rejects with
 * the UnavailableError (outcomeUnknown): it may have been applied.
 */
export async function runStm<T>(
  client: Etcd,
  fn: (tx: StmTx) => T | Promise<T>,
  options: StmOptions = {},
): Promise<T> {
  if (typeof fn !== 'function') throw new InvalidArgumentError('stm() needs a function (tx) => result');
  const o = checkOptions(options);
  const backoff = new Backoff(BACKOFF);
  let carried: Map<string, Read> | undefined;
  for (let attempt = 1; ; attempt++) {
    if (o.signal?.aborted) throw abortError('stm()', o.signal);
    const tx = new Attempt(client, o.isolation, attempt, o.signal, carried);
    let result: T;
    try {
      if (o.prefetch.length) await tx.fetchMany(o.prefetch);
      result = await fn(tx);
    } catch (err) {
      tx.close();
      // A snapshot compacted away under fn: take a new one (a conflict, as far as fn can tell).
      if (!(tx.compacted && err instanceof CompactedError)) throw err;
      if (attempt > o.maxRetries) throw new StmConflictError([], attempt, { cause: err });
      carried = undefined;
      if (!(await backoff.wait(o.signal))) throw abortError('stm()', o.signal!);
      continue;
    }
    tx.close();
    const outcome = await tx.commit();
    if (outcome.ok) return result;
    if (attempt > o.maxRetries) throw new StmConflictError(outcome.conflicts, attempt);
    carried = outcome.fresh;
    if (!(await backoff.wait(o.signal))) throw abortError('stm()', o.signal!);
  }
}

interface CheckedOptions {
  isolation: StmIsolation;
  maxRetries: number;
  signal: AbortSignal | undefined;
  prefetch: Buffer[];
}

function checkOptions(options: StmOptions): CheckedOptions {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError(
      'stm() takes an options object { isolation?, maxRetries?, signal?, prefetch? }',
    );
  const isolation = options.isolation ?? 'serializable-snapshot';
  if (!ISOLATIONS.includes(isolation))
    throw new InvalidArgumentError(
      `stm(): isolation must be one of ${ISOLATIONS.join(', ')}, got ${JSON.stringify(isolation)}`,
    );
  const maxRetries = options.maxRetries ?? Number.POSITIVE_INFINITY;
  if (
    typeof maxRetries !== 'number' ||
    maxRetries < 0 ||
    !(Number.isSafeInteger(maxRetries) || maxRetries === Number.POSITIVE_INFINITY)
  )
    throw new InvalidArgumentError(
      `stm(): maxRetries must be a whole number >= 0 (or Infinity), got ${String(maxRetries)}`,
    );
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal))
    throw new InvalidArgumentError('stm(): signal must be an AbortSignal');
  const prefetch = options.prefetch ?? [];
  if (!Array.isArray(prefetch))
    throw new InvalidArgumentError(`stm(): prefetch must be an array of keys, got ${describe(prefetch)}`);
  return {
    isolation,
    maxRetries,
    signal: options.signal,
    prefetch: prefetch.map((k) => toKey(k, 'stm() prefetch key')),
  };
}

/** A key as read: its kv (undefined: absent) and the revision the read was served at. */
interface Read {
  key: Buffer;
  kv: KeyValue | undefined;
  revision: bigint;
}

interface RangeRead {
  selector: KeySelector;
  kvs: KeyValue[];
  revision: bigint;
}

interface Write {
  key: Buffer;
  /** undefined: a delete. */
  value: Buffer | undefined;
  lease: bigint | undefined;
}

type Outcome = { ok: true } | { ok: false; conflicts: Buffer[]; fresh: Map<string, Read> };

const id = (key: Buffer): string => key.toString('latin1');

/** One run of `fn`: its read set, write set and snapshot. */
class Attempt implements StmTx {
  readonly attempt: number;
  private readonly client: Etcd;
  private readonly isolation: StmIsolation;
  private readonly signal: AbortSignal | undefined;
  private readonly reads = new Map<string, Read>();
  private readonly ranges = new Map<string, RangeRead>();
  private readonly writes = new Map<string, Write>();
  /** Reads carried over from the previous attempt's failed commit (all at one revision). */
  private readonly carried: Map<string, Read> | undefined;
  /** The snapshot revision (serializable levels), fixed by the first read. */
  private base: Promise<bigint> | undefined;
  private closed = false;
  /** A read at the snapshot revision found it compacted. */
  compacted = false;
  /** Snapshot reads go through the leader (a member was behind the snapshot). */
  private linearizable = false;

  constructor(
    client: Etcd,
    isolation: StmIsolation,
    attempt: number,
    signal: AbortSignal | undefined,
    carried: Map<string, Read> | undefined,
  ) {
    this.client = client;
    this.isolation = isolation;
    this.attempt = attempt;
    this.signal = signal;
    this.carried = carried;
  }

  private get snapshot(): boolean {
    return this.isolation === 'serializable-snapshot' || this.isolation === 'serializable';
  }

  close(): void {
    this.closed = true;
  }

  private assertOpen(what: string): void {
    if (this.closed)
      throw new InvalidArgumentError(
        `stm: tx.${what}() was called after fn returned; await every read and write inside fn`,
      );
  }

  private call(): { signal?: AbortSignal } {
    return this.signal ? { signal: this.signal } : {};
  }

  async get(key: Bytes): Promise<Buffer | undefined> {
    this.assertOpen('get');
    const k = toKey(key);
    const w = this.writes.get(id(k));
    if (w) return w.value;
    return (await this.read(k)).kv?.value;
  }

  async rev(key: Bytes): Promise<bigint> {
    this.assertOpen('rev');
    return (await this.read(toKey(key))).kv?.modRevision ?? 0n;
  }

  put(key: Bytes, value: Bytes, options?: { lease?: bigint }): void {
    this.assertOpen('put');
    const k = Buffer.from(toKey(key));
    if (value === undefined || value === null)
      throw new InvalidArgumentError('stm: tx.put() needs a value (use "" for an empty one)');
    const lease = options?.lease;
    if (lease !== undefined && typeof lease !== 'bigint')
      throw new InvalidArgumentError('stm: tx.put() lease must be a bigint lease id');
    this.writes.delete(id(k)); // the latest write of a key goes last
    this.writes.set(id(k), { key: k, value: Buffer.from(toBuffer(value)), lease });
  }

  delete(key: Bytes): void {
    this.assertOpen('delete');
    const k = Buffer.from(toKey(key));
    this.writes.delete(id(k));
    this.writes.set(id(k), { key: k, value: undefined, lease: undefined });
  }

  async range(selector: StmRange): Promise<StmEntry[]> {
    this.assertOpen('range');
    const sel = rangeSelector(selector);
    const rid = rangeId(sel);
    let rr = this.ranges.get(rid);
    if (!rr) {
      const r = await this.readRange(sel);
      rr = this.ranges.get(rid) ?? r;
      this.ranges.set(rid, rr);
      // Later gets of these keys see the same values (repeatable within the attempt).
      for (const kv of rr.kvs)
        if (!this.reads.has(id(kv.key)))
          this.reads.set(id(kv.key), { key: kv.key, kv, revision: rr.revision });
    }
    const out = new Map<string, StmEntry>();
    for (const kv of rr.kvs) out.set(id(kv.key), { key: kv.key, value: kv.value });
    const { start, end } = bounds(sel);
    for (const [wid, w] of this.writes) {
      if (Buffer.compare(w.key, start) < 0 || (end && Buffer.compare(w.key, end) >= 0)) continue;
      if (w.value === undefined) out.delete(wid);
      else out.set(wid, { key: w.key, value: w.value });
    }
    return [...out.values()].sort((a, b) => Buffer.compare(a.key, b.key));
  }

  /** Read several keys in one round trip (prefetch). */
  async fetchMany(keys: readonly Buffer[]): Promise<void> {
    const unique = [...new Map(keys.map((k) => [id(k), k])).values()];
    // What the last commit read back comes first: it may fix the snapshot without a round trip.
    for (const k of unique) if (this.carried?.has(id(k))) await this.read(k);
    const missing = unique.filter((k) => !this.reads.has(id(k)));
    if (missing.length === 0) return;
    const got = await this.atSnapshot(async (revision) => {
      const r = await this.client
        .txn()
        .then(...missing.map((key) => op.get(this.rangeOptions({ key }, revision))))
        .commit(this.call());
      return { revision: r.revision, value: r.responses };
    });
    missing.forEach((key, i) => {
      const resp = got.value[i];
      const kv = resp?.type === 'range' ? resp.kvs[0] : undefined;
      if (!this.reads.has(id(key))) this.reads.set(id(key), { key, kv, revision: got.revision });
    });
  }

  private async read(key: Buffer): Promise<Read> {
    const known = this.reads.get(id(key));
    if (known) return known;
    const carried = this.carried?.get(id(key));
    if (carried) {
      // Reads carried from the last commit share its revision: they can start the snapshot.
      if (this.snapshot) {
        this.base ??= Promise.resolve(carried.revision);
        if ((await this.base) === carried.revision) return this.remember(carried);
      } else return this.remember(carried);
    }
    const got = await this.atSnapshot(async (revision) => {
      const r = await this.client.range({ ...this.rangeOptions({ key }, revision), ...this.call() });
      return { revision: r.revision, value: r.kvs[0] };
    });
    return this.remember({ key, kv: got.value, revision: got.revision });
  }

  private remember(r: Read): Read {
    const known = this.reads.get(id(r.key));
    if (known) return known; // a concurrent read of the same key came first
    this.reads.set(id(r.key), r);
    return r;
  }

  private async readRange(sel: KeySelector): Promise<RangeRead> {
    const got = await this.atSnapshot(async (revision) => {
      const r = await this.client.range({ ...this.rangeOptions(sel, revision), ...this.call() });
      return { revision: r.revision, value: r.kvs };
    });
    return { selector: sel, kvs: got.value, revision: got.revision };
  }

  /**
   * Run a read at the snapshot (serializable levels): the first read fixes it; reads issued
   * while it is in flight wait for it. Other levels read the latest revision.
   */
  private async atSnapshot<V>(
    read: (revision: bigint | undefined) => Promise<{ revision: bigint; value: V }>,
  ): Promise<{ revision: bigint; value: V }> {
    if (!this.snapshot) return read(undefined);
    if (!this.base) {
      const first = read(undefined);
      this.base = first.then((r) => r.revision);
      this.base.catch(() => {}); // the first reader gets the error
      return first;
    }
    let revision: bigint;
    try {
      revision = await this.base;
    } catch {
      // The first read failed; this one fixes the snapshot instead.
      this.base = undefined;
      return this.atSnapshot(read);
    }
    try {
      const r = await read(revision);
      return { revision, value: r.value };
    } catch (err) {
      if (err instanceof CompactedError) this.compacted = true;
      // A member behind the snapshot cannot serve it locally: ask through the leader from now on.
      if (!(err instanceof FutureRevisionError) || this.linearizable) throw err;
      this.linearizable = true;
      const r = await read(revision);
      return { revision, value: r.value };
    }
  }

  private rangeOptions(sel: KeySelector, revision: bigint | undefined) {
    // As in Go: reads after the first are served by the member at hand (serializable), which is
    // safe because the commit checks them (or, for read-committed, nothing is promised).
    if (revision !== undefined) return { ...sel, revision, serializable: !this.linearizable };
    if (this.isolation === 'repeatable-read' || this.isolation === 'read-committed')
      return { ...sel, serializable: true };
    return { ...sel };
  }

  /** One txn: the level's compares, then the writes; else read back what was checked. */
  async commit(): Promise<Outcome> {
    const compares: Compare[] = [];
    if (this.isolation !== 'read-committed') {
      for (const r of this.reads.values())
        compares.push(compare.modRevision(r.key, '==', r.kv?.modRevision ?? 0n));
      for (const rr of this.ranges.values()) compares.push(noneNewer(rr.selector, rr.revision));
    }
    if (this.isolation === 'serializable-snapshot' && this.base) {
      const base = await this.base;
      for (const w of this.writes.values()) compares.push(compare.modRevision(w.key, '<', base + 1n));
    }
    const writes: Op[] = [...this.writes.values()].map((w) =>
      w.value === undefined
        ? op.delete(w.key)
        : op.put(w.key, w.value, w.lease !== undefined ? { lease: w.lease } : undefined),
    );
    if (compares.length === 0) {
      if (writes.length)
        await this.client
          .txn()
          .then(...writes)
          .commit(this.call());
      return { ok: true };
    }
    const checked = new Map<string, Buffer>();
    for (const r of this.reads.values()) checked.set(id(r.key), r.key);
    if (this.isolation === 'serializable-snapshot')
      for (const w of this.writes.values()) checked.set(id(w.key), w.key);
    const keys = [...checked.values()];
    const ranges = [...this.ranges.values()];
    const r = await this.client
      .txn()
      .if(...compares)
      .then(...writes)
      .else(
        ...keys.map((key) => op.get(key)),
        ...ranges.map((rr) => op.get({ ...rr.selector, keysOnly: true })),
      )
      .commit(this.call());
    if (r.succeeded) return { ok: true };
    const fresh = new Map<string, Read>();
    const conflicts = new Map<string, Buffer>();
    const base = this.base ? await this.base.catch(() => undefined) : undefined;
    keys.forEach((key, i) => {
      const resp = r.responses[i];
      const kv = resp?.type === 'range' ? resp.kvs[0] : undefined;
      fresh.set(id(key), { key, kv, revision: r.revision });
      const read = this.reads.get(id(key));
      const changed = read
        ? (read.kv?.modRevision ?? 0n) !== (kv?.modRevision ?? 0n)
        : base !== undefined && (kv?.modRevision ?? 0n) > base;
      if (changed) conflicts.set(id(key), key);
    });
    ranges.forEach((rr, i) => {
      const resp = r.responses[keys.length + i];
      const now = resp?.type === 'range' ? resp.kvs : [];
      const nowIds = new Set(now.map((kv) => id(kv.key)));
      for (const kv of now) if (kv.modRevision > rr.revision) conflicts.set(id(kv.key), kv.key);
      for (const kv of rr.kvs) if (!nowIds.has(id(kv.key))) conflicts.set(id(kv.key), kv.key);
    });
    return { ok: false, conflicts: [...conflicts.values()], fresh };
  }
}

function rangeSelector(selector: StmRange): KeySelector {
  if (selector === null || typeof selector !== 'object')
    throw new InvalidArgumentError('stm: tx.range() takes { prefix } or { key, end }');
  if ('prefix' in selector && selector.prefix !== undefined) {
    if ('key' in selector || 'end' in selector)
      throw new InvalidArgumentError('stm: tx.range() takes either { prefix } or { key, end }');
    return { prefix: Buffer.from(toBuffer(selector.prefix, 'prefix')) };
  }
  if ('key' in selector && 'end' in selector && selector.key !== undefined && selector.end !== undefined)
    return {
      key: Buffer.from(toKey(selector.key)),
      end: Buffer.from(toKey(selector.end, 'end')),
    };
  throw new InvalidArgumentError('stm: tx.range() takes { prefix } or { key, end }');
}

function rangeId(sel: KeySelector): string {
  return sel.prefix !== undefined
    ? `p:${id(sel.prefix as Buffer)}`
    : `r:${id(sel.key as Buffer)}:${id(sel.end as Buffer)}`;
}

/** The keys a selector covers, relative to the namespace; end undefined = no upper bound. */
function bounds(sel: KeySelector): { start: Buffer; end: Buffer | undefined } {
  if (sel.prefix === undefined) return { start: sel.key as Buffer, end: sel.end as Buffer };
  const end = prefixEnd(sel.prefix as Buffer);
  return { start: sel.prefix as Buffer, end: end === FROM_KEY_END ? undefined : end };
}

/** A compare that holds while no key of the range was created or changed after `revision`. */
function noneNewer(sel: KeySelector, revision: bigint): Compare {
  return {
    kind: 'compare',
    toWire(ctx) {
      const r = ctx.ks.range(sel);
      return {
        result: 'LESS',
        target: 'MOD',
        key: r.key,
        ...(r.rangeEnd ? { rangeEnd: r.rangeEnd } : {}),
        modRevision: (revision + 1n).toString(),
      };
    },
  };
}
