import { AbortError, type Compare, type Etcd, InvalidArgumentError, type Session } from '@etcdkit/core';
import { abortable, checkWaitOptions, waitScope } from '@etcdkit/core/internal';
import { type LockOptions, Mutex } from './mutex.js';

export interface WithLockOptions extends LockOptions {
  /** TTL in seconds of the session withLock creates (and reuses) for this client. Default 60. */
  ttl?: number;
  /** Lock on this session instead of the client's shared one. */
  session?: Session;
}

/** What the guarded function gets. */
export interface LockContext {
  /** The lock's key (`<name>/<lease id in hex>`), relative to the client's namespace. */
  readonly key: string;
  /** Strictly greater for every later owner: hand it to the protected resource. */
  readonly fencingToken: bigint;
  /** Aborts when ownership is lost (session lost, key deleted); follow it in long work. */
  readonly signal: AbortSignal;
  /** A compare for guarded writes: `etcd.txn().if(lock.isOwner()).then(...)`. */
  isOwner(): Compare;
  /** The session the lock is held on. */
  readonly session: Session;
}

/** A lock taken by acquireLock(); `await using` releases it. */
export class HeldLock implements LockContext, AsyncDisposable {
  /** The underlying Mutex (held until `unlock()`). */
  readonly mutex: Mutex;
  private readonly done: () => void;
  private released: Promise<void> | undefined;

  /** @internal use acquireLock() */
  constructor(mutex: Mutex, done: () => void) {
    this.mutex = mutex;
    this.done = done;
  }

  /** The lock's key (`<name>/<lease id in hex>`). */
  get key(): string {
    return this.mutex.key;
  }

  /** Strictly greater for every later owner: hand it to the protected resource. */
  get fencingToken(): bigint {
    return this.mutex.fencingToken;
  }

  /** Aborts when ownership is lost (session lost, key deleted). */
  get signal(): AbortSignal {
    return this.mutex.signal;
  }

  /** Bound, so it can be destructured from the context. */
  readonly isOwner = (): Compare => this.mutex.isOwner();

  /** The session the lock is held on. */
  get session(): Session {
    return this.mutex.session;
  }

  /** Release the lock (see Mutex.unlock()); later calls return the same promise. */
  unlock(): Promise<void> {
    this.released ??= this.mutex.unlock().finally(this.done);
    return this.released;
  }

  /** Same as {@link HeldLock.unlock}, for `await using lock = await acquireLock(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.unlock();
  }
}

const sharedSessions = new WeakMap<Etcd, Map<number, Promise<Session>>>();

/** One session per client and TTL, made on first use and replaced once it ends. */
export async function sharedSession(etcd: Etcd, ttl: number, signal: AbortSignal): Promise<Session> {
  let byTtl = sharedSessions.get(etcd);
  if (!byTtl) sharedSessions.set(etcd, (byTtl = new Map()));
  const m = byTtl;
  for (;;) {
    let p = m.get(ttl);
    if (!p) {
      const created = etcd.session({ ttl });
      m.set(ttl, created);
      // A failed creation is reported to its callers below; it must not stay cached.
      created.then(undefined, () => {
        if (m.get(ttl) === created) m.delete(ttl);
      });
      p = created;
    }
    const s = await abortable(p, signal);
    if (!s.expired) return s;
    if (m.get(ttl) === p) m.delete(ttl);
  }
}

/**
 * Callers of this process that share a session take turns on a name here before queueing in
 * etcd, where one session has a single key per name. Resolves with the function that ends my turn.
 */
const turns = new WeakMap<Session, Map<string, Promise<void>>>();

export async function localTurn(session: Session, name: string, signal: AbortSignal): Promise<() => void> {
  let byName = turns.get(session);
  if (!byName) turns.set(session, (byName = new Map()));
  const m = byName;
  const previous = m.get(name) ?? Promise.resolve();
  let end!: () => void;
  const mine = new Promise<void>((resolve) => {
    end = resolve;
  });
  // The next caller waits for mine and, should I give up early, still for the one before me.
  const tail = previous.then(() => mine);
  m.set(name, tail);
  void tail.then(() => {
    if (m.get(name) === tail) m.delete(name);
  });
  try {
    await abortable(previous, signal);
  } catch (err) {
    end();
    throw err;
  }
  return end;
}

/**
 * Take the mutex `name` with a session of `etcd` (the shared one, or `options.session`) and
 * return the held lock; `await using lock = await acquireLock(etcd, 'jobs')` unlocks at the end
 * of the scope. Callers of one process on one session are queued locally, in call order.
 */
export async function acquireLock(
  etcd: Etcd,
  name: string,
  options: WithLockOptions = {},
): Promise<HeldLock> {
  if (typeof name !== 'string' || name.length === 0)
    throw new InvalidArgumentError(
      `acquireLock needs a non-empty lock name (a string), got ${JSON.stringify(name)}`,
    );
  checkWaitOptions(options, `mutex ${JSON.stringify(name)}`);
  if (typeof etcd?.session !== 'function') throw new InvalidArgumentError('acquireLock needs an Etcd client');
  const ttl = options.ttl ?? 60;
  if (!Number.isInteger(ttl) || ttl < 1)
    throw new InvalidArgumentError(`ttl must be a whole number of seconds >= 1, got ${ttl}`);
  const ws = waitScope(`mutex ${JSON.stringify(name)}`, options);
  try {
    if (ws.aborted) throw ws.reason;
    const session = options.session ?? (await sharedSession(etcd, ttl, ws.signal));
    const end = await localTurn(session, name, ws.signal);
    const mutex = new Mutex(session, name);
    try {
      await mutex.lock({ signal: ws.signal });
    } catch (err) {
      end();
      // lock() reports my own abort as an AbortError; the caller wants the reason (timeout or abort).
      throw err instanceof AbortError && ws.aborted ? ws.reason : err;
    }
    return new HeldLock(mutex, end);
  } finally {
    ws.dispose();
  }
}

/**
 * Run `fn` while holding the mutex `name`, then unlock, whatever happens. `fn` gets the fencing
 * token, a signal that aborts if ownership is lost, and an ownership compare. fn's error is
 * rethrown as it is; when fn succeeded but the lock had been lost meanwhile, unlock's
 * LockReleasedError (or SessionExpiredError) is thrown, since the work may not have been exclusive.
 */
export async function withLock<T>(
  etcd: Etcd,
  name: string,
  fn: (lock: LockContext) => T | Promise<T>,
  options: WithLockOptions = {},
): Promise<T> {
  if (typeof fn !== 'function')
    throw new InvalidArgumentError('withLock needs a function to run under the lock');
  const held = await acquireLock(etcd, name, options);
  let result: T;
  try {
    result = await fn(held);
  } catch (err) {
    // fn's error is what the caller needs. An unlock failure here is either the loss fn was told
    // about through its signal, or etcd being unreachable, in which case the key is removed in the
    // background or with the session.
    await held.unlock().catch(() => undefined);
    throw err;
  }
  await held.unlock();
  return result;
}
