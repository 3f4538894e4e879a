import { AbortError, type Compare, type Etcd, InvalidArgumentError, type Session } from '@etcdkit/core';
import { checkWaitOptions, type LinkedSignal, linkSignals, waitScope } from '@etcdkit/core/internal';
import { LockNotHeldError } from './errors.js';
import { type LockOptions, Mutex } from './mutex.js';
import { localTurn, sharedSession, type WithLockOptions } from './with-lock.js';

/**
 * Several mutexes held together, taken by lockAll(). `signal` aborts as soon as any of them is
 * lost; unlock() releases them all.
 */
export class HeldLocks implements AsyncDisposable {
  /** The mutexes, by name, in the order they were taken. */
  readonly mutexes: ReadonlyMap<string, Mutex>;
  /** Each lock's fencing token, by name. */
  readonly fencingTokens: ReadonlyMap<string, bigint>;
  private linked: LinkedSignal | undefined;
  private released: Promise<void> | undefined;
  private readonly done: () => void;

  /** @internal use lockAll() */
  constructor(mutexes: Mutex[], done: () => void = () => {}) {
    this.mutexes = new Map(mutexes.map((m) => [m.name, m]));
    this.fencingTokens = new Map(mutexes.map((m) => [m.name, m.fencingToken]));
    this.done = done;
  }

  /** Aborts when any of the locks is lost (with that lock's reason), or at unlock(). */
  get signal(): AbortSignal {
    this.linked ??= linkSignals(...[...this.mutexes.values()].map((m) => m.signal));
    return this.linked.signal;
  }

  /** The ownership compare of lock `name`, for guarded writes: `txn().if(held.isOwner(name))`. */
  isOwner(name: string): Compare {
    const m = this.mutexes.get(name);
    if (!m) throw new LockNotHeldError(`lock ${JSON.stringify(name)} is not one of the locks held here`);
    return m.isOwner();
  }

  /** The ownership compares of every lock: `txn().if(...held.ownsAll())`. */
  ownsAll(): Compare[] {
    return [...this.mutexes.values()].map((m) => m.isOwner());
  }

  /**
   * Release every lock (in reverse order). Rejects with the first failure, e.g. the
   * LockReleasedError of a lock lost meanwhile, after trying all. Later calls return the same promise.
   */
  unlock(): Promise<void> {
    this.released ??= releaseAll([...this.mutexes.values()]).finally(() => {
      this.linked?.dispose();
      this.done();
    });
    return this.released;
  }

  /** Same as {@link HeldLocks.unlock}, for `await using held = await lockAll(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.unlock();
  }
}

async function releaseAll(held: Mutex[]): Promise<void> {
  let first: { error: unknown } | undefined;
  for (const m of [...held].reverse()) {
    try {
      await m.unlock();
    } catch (err) {
      first ??= { error: err };
    }
  }
  if (first) throw first.error;
}

/** Names checked, without repeats, in etcd's key order (UTF-8 bytes): the one global order. */
function lockOrder(names: readonly string[], what: string): string[] {
  if (!Array.isArray(names) || names.length === 0)
    throw new InvalidArgumentError(`${what} needs a non-empty array of lock names`);
  for (const n of names)
    if (typeof n !== 'string' || n.length === 0)
      throw new InvalidArgumentError(
        `${what}: every lock name must be a non-empty string, got ${JSON.stringify(n)}`,
      );
  return [...new Set(names)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/**
 * Take the mutexes `names` on `session`, one after another in one global order (the names
 * sorted as etcd sorts keys), so that two callers asking for overlapping sets in any order
 * cannot deadlock. On any failure, abort or timeout, the locks already taken are released and
 * the error says why (AbortError, LockTimeoutError, SessionExpiredError, ...).
 */
export async function lockAll(
  session: Session,
  names: readonly string[],
  options?: LockOptions,
): Promise<HeldLocks> {
  const order = lockOrder(names, 'lockAll');
  checkWaitOptions(options, 'lockAll');
  const mutexes = order.map((n) => new Mutex(session, n));
  const label = `locks ${order.map((n) => JSON.stringify(n)).join(', ')}`;
  return takeAll(mutexes, label, options);
}

async function takeAll(
  mutexes: Mutex[],
  label: string,
  options: LockOptions | undefined,
): Promise<HeldLocks> {
  const scope = waitScope(label, options, mutexes[0]?.session);
  const held: Mutex[] = [];
  try {
    for (const m of mutexes) {
      if (scope.aborted) throw scope.reason;
      await m.lock({ signal: scope.signal });
      held.push(m);
    }
    return new HeldLocks(held);
  } catch (err) {
    // The error to report is why taking them failed; a failing release here is either the same
    // loss or etcd out of reach, and then the keys go with the session or in the background.
    await releaseAll(held).catch(() => undefined);
    throw scope.aborted ? scope.reason : err;
  } finally {
    scope.dispose();
  }
}

/** What the function given to withLocks() gets. */
export interface LocksContext {
  /** Each lock's fencing token, by name: strictly greater for every later owner of that lock. */
  readonly fencingTokens: ReadonlyMap<string, bigint>;
  /** Aborts when any of the locks is lost. */
  readonly signal: AbortSignal;
  /** The ownership compare of lock `name`, for guarded writes: `etcd.txn().if(ctx.isOwner(name))`. */
  isOwner(name: string): Compare;
  /** The ownership compares of every lock: `etcd.txn().if(...ctx.ownsAll())`. */
  ownsAll(): Compare[];
  /** The session the locks are held on. */
  readonly session: Session;
}

/**
 * Run `fn` while holding every mutex of `names` (taken as lockAll() does, on the client's
 * shared session unless `options.session` is given), then release them all, whatever happens.
 * fn's error is rethrown as it is; when fn succeeded but a lock had been lost meanwhile, that
 * loss is thrown (the work may not have been exclusive).
 */
export async function withLocks<T>(
  etcd: Etcd,
  names: readonly string[],
  fn: (locks: LocksContext) => T | Promise<T>,
  options: WithLockOptions = {},
): Promise<T> {
  const order = lockOrder(names, 'withLocks');
  if (typeof fn !== 'function')
    throw new InvalidArgumentError('withLocks needs a function to run under the locks');
  if (typeof etcd?.session !== 'function') throw new InvalidArgumentError('withLocks needs an Etcd client');
  const label = `locks ${order.map((n) => JSON.stringify(n)).join(', ')}`;
  checkWaitOptions(options, label);
  const ttl = options.ttl ?? 60;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 2 ** 31 - 1)
    throw new InvalidArgumentError(`ttl must be a whole number of seconds >= 1, got ${ttl}`);
  const ws = waitScope(label, options);
  const ends: (() => void)[] = [];
  const endTurns = (): void => {
    for (const end of ends.splice(0).reverse()) end();
  };
  let held: HeldLocks;
  try {
    if (ws.aborted) throw ws.reason;
    const session = options.session ?? (await sharedSession(etcd, ttl, ws.signal));
    // Callers of this process on one session queue here first, in the same global order.
    for (const name of order) ends.push(await localTurn(session, name, ws.signal));
    const taken = await takeAll(
      order.map((n) => new Mutex(session, n)),
      label,
      { signal: ws.signal },
    );
    held = new HeldLocks([...taken.mutexes.values()], endTurns);
  } catch (err) {
    endTurns();
    throw err instanceof AbortError && ws.aborted ? ws.reason : err;
  } finally {
    ws.dispose();
  }
  const first = [...held.mutexes.values()][0]!;
  const ctx: LocksContext = {
    fencingTokens: held.fencingTokens,
    get signal() {
      return held.signal;
    },
    isOwner: (name) => held.isOwner(name),
    ownsAll: () => held.ownsAll(),
    session: first.session,
  };
  let result: T;
  try {
    result = await fn(ctx);
  } catch (err) {
    await held.unlock().catch(() => undefined);
    throw err;
  }
  await held.unlock();
  return result;
}
