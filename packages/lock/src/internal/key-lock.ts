import {
  ClientClosedError,
  CompactedError,
  type Compare,
  compare,
  DeadlineExceededError,
  type Etcd,
  InvalidArgumentError,
  LeaseNotFoundError,
  op,
  type Session,
  SessionExpiredError,
  UnavailableError,
  type Watcher,
} from '@etcdkit/core';
import { LockHeldError, LockNotHeldError, LockReleasedError } from '../errors.js';
import { KeyGone } from './queue.js';
import { claim, ownerOf, pendingRemoval, trackRemoval, unclaim } from './registry.js';
import { abortable, checkLockOptions, type LockOptions, WaitSignal } from './wait-signal.js';

/** What the acquiring transaction found. */
export interface Attempt {
  /** Create revision of my key: my place in the queue and, once I own the lock, the fencing token. */
  rev: bigint;
  /** Revision the transaction was served at. */
  revision: bigint;
  /** Whether my key already owns the lock. */
  owned: boolean;
}

/** How one kind of lock takes its turn; the rest (state, loss, release) is shared. */
export interface Plan {
  key: string;
  /** e.g. `mutex "jobs"`: the subject of error messages. */
  label: string;
  /** One transaction: create my key unless it exists, and tell whether it owns the lock. */
  attempt(signal: AbortSignal | undefined): Promise<Attempt>;
  /** Wait for my turn; resolve with the revision it was confirmed at, or throw KeyGone. */
  waitTurn(rev: bigint, signal: AbortSignal): Promise<bigint>;
}

interface Holding {
  key: string;
  label: string;
  rev: bigint;
  /** The revision at which ownership was confirmed: losses are looked for after it. */
  at: bigint;
  /** Made when `signal` is first read: an uncontended lock/unlock allocates nothing for it. */
  controller: AbortController | undefined;
  watcher: Watcher | undefined;
  onSessionEnd: (() => void) | undefined;
}

type State = 'idle' | 'acquiring' | 'held' | 'releasing';

const FIRST_REMOVAL_TIMEOUT_MS = 2000;

export function checkSession(session: Session, what: string): void {
  if (
    session === null ||
    typeof session !== 'object' ||
    typeof session.lease !== 'bigint' ||
    !(session.signal instanceof AbortSignal) ||
    typeof session.client?.txn !== 'function'
  )
    throw new InvalidArgumentError(
      `${what} needs a Session: create one with \`await etcd.session({ ttl })\``,
    );
}

export function checkName(name: string, what: string): void {
  if (typeof name !== 'string' || name.length === 0)
    throw new InvalidArgumentError(
      `${what} needs a non-empty lock name (a string), got ${JSON.stringify(name)}`,
    );
}

function transient(err: unknown): boolean {
  return err instanceof UnavailableError || err instanceof DeadlineExceededError;
}

/**
 * A lock held through one key attached to a session's lease. Subclasses say how the key joins
 * its queue (a Plan); this class keeps the state, the fencing token, the ownership compare, the
 * loss signal and the guarded release.
 */
export abstract class KeyLock implements AsyncDisposable {
  readonly session: Session;
  protected readonly client: Etcd;
  /** One user per name and session in this process (see registry.ts). */
  private readonly claimId: string;
  private state: State = 'idle';
  private holding: Holding | undefined;
  private releasing: Promise<void> | undefined;

  protected constructor(session: Session, name: string) {
    this.session = session;
    this.client = session.client;
    this.claimId = `${name}/`;
  }

  /** True from a successful lock until unlock, even if ownership was lost meanwhile (see `signal`). */
  get locked(): boolean {
    return this.state === 'held';
  }

  /** Neither held nor being acquired or released. */
  protected get idle(): boolean {
    return this.state === 'idle';
  }

  /**
   * The create revision of my key: strictly greater for every later owner of the lock. Pass it
   * to the resource the lock protects so it can refuse writes from an older owner.
   */
  get fencingToken(): bigint {
    return this.current('fencingToken').rev;
  }

  /**
   * A compare that holds only while my key is the one that won the lock. Add it to a txn that
   * writes guarded data: `etcd.txn().if(m.isOwner()).then(...)`. It fails once the key is
   * deleted (unlock, session end) even if the same session locks again later.
   */
  isOwner(): Compare {
    const h = this.current('isOwner()');
    return compare.createRevision(h.key, '==', h.rev);
  }

  /**
   * Aborts when ownership ends: the session is lost (SessionExpiredError), the key is deleted
   * or replaced by someone else (LockReleasedError), or unlock() is called. Following the key
   * starts on first use: one watch on the client's shared stream.
   */
  get signal(): AbortSignal {
    const h = this.current('signal');
    if (!h.controller) {
      h.controller = new AbortController();
      this.track(h);
    }
    return h.controller.signal;
  }

  private current(what: string): Holding {
    const h = this.holding;
    if (!h || this.state !== 'held')
      throw new LockNotHeldError(`${what} is only available while the lock is held: lock it first`);
    return h;
  }

  /** Join the queue of `plan.key`; with `wait` false, leave it again when not first. */
  protected async acquireKey(plan: Plan, options: LockOptions | undefined, wait: boolean): Promise<boolean> {
    checkLockOptions(options, plan.label);
    if (this.state !== 'idle')
      throw new LockHeldError(
        plan.key,
        `${plan.label}: this object ${this.state === 'acquiring' ? 'is already acquiring' : 'already holds'} a lock; ` +
          'locks are not reentrant: unlock it first, or use another object on its own session',
      );
    if (ownerOf(this.session, this.claimId))
      throw new LockHeldError(
        plan.key,
        `${plan.label}: session ${this.session.lease.toString(16)} already holds or waits for this lock through ` +
          'another object, and both would share one key; give each holder its own session, or use withLock()',
      );
    // What ends a wait (caller's signal, timeout, session end) is only wired up when needed:
    // the uncontended path without options is the one transaction and nothing else.
    let ws: WaitSignal | undefined;
    const waitSignal = (): WaitSignal => {
      ws ??= new WaitSignal(plan.label, options, this.session);
      if (ws.aborted) throw ws.reason;
      return ws;
    };
    if (options?.signal !== undefined || options?.timeoutMs !== undefined) waitSignal();
    else if (this.session.expired) throw this.session.signal.reason;
    claim(this.session, this.claimId, this);
    this.state = 'acquiring';
    let rev: bigint | undefined;
    try {
      const removal = pendingRemoval(this.session, this.claimId);
      if (removal) await abortable(removal, waitSignal().signal);
      const a = await plan.attempt(ws?.signal);
      rev = a.rev;
      let at = a.revision;
      if (!a.owned) {
        if (!wait) {
          await this.removeKey(plan.key, rev);
          return false;
        }
        at = await plan.waitTurn(rev, waitSignal().signal);
      }
      this.holding = {
        key: plan.key,
        label: plan.label,
        rev,
        at,
        controller: undefined,
        watcher: undefined,
        onSessionEnd: undefined,
      };
      this.state = 'held';
      return true;
    } catch (err) {
      if (err instanceof KeyGone)
        throw this.session.expired
          ? this.session.signal.reason
          : new LockReleasedError(
              plan.key,
              `${plan.label}: the waiter key ${plan.key} was deleted by someone else while waiting; lock again`,
            );
      const e = ws?.aborted ? ws.reason : this.sessionError(err);
      // My key may exist (even when the transaction's outcome is unknown): take it out of the queue.
      await this.removeKey(plan.key, rev);
      throw e;
    } finally {
      ws?.dispose();
      if (this.state === 'acquiring') {
        this.state = 'idle';
        unclaim(this.session, this.claimId, this);
      }
    }
  }

  private sessionError(err: unknown): unknown {
    if (this.session.expired) return this.session.signal.reason;
    if (err instanceof LeaseNotFoundError)
      return new SessionExpiredError(this.session.lease, undefined, { cause: err });
    return err;
  }

  /** Release: delete my key only if it is still the one that won (a guarded delete). */
  protected releaseKey(): Promise<void> {
    if (this.state === 'releasing') return this.releasing!;
    if (this.state === 'acquiring')
      return Promise.reject(
        new LockNotHeldError(
          'unlock() was called while the lock is still being acquired; abort lock() with its signal',
        ),
      );
    const h = this.holding;
    if (this.state === 'idle' || !h) return Promise.resolve();
    this.state = 'releasing';
    this.stopTracking(h);
    this.releasing = this.deleteHeld(h);
    return this.releasing;
  }

  private async deleteHeld(h: Holding): Promise<void> {
    let failure: unknown;
    try {
      const r = await this.client
        .txn()
        .if(compare.createRevision(h.key, '==', h.rev))
        .then(op.delete(h.key))
        .commit();
      if (!r.succeeded) failure = this.lossReason(h);
    } catch (err) {
      failure = this.sessionError(err);
      if (!this.session.expired && !(err instanceof ClientClosedError))
        trackRemoval(this.session, this.claimId, this.retryRemoval(h.key, h.rev));
    } finally {
      if (h.controller && !h.controller.signal.aborted)
        h.controller.abort(new LockReleasedError(h.key, `${h.label} was released by unlock()`));
      this.holding = undefined;
      this.releasing = undefined;
      this.state = 'idle';
      unclaim(this.session, this.claimId, this);
    }
    if (failure !== undefined) throw failure;
  }

  private lossReason(h: Holding): unknown {
    if (h.controller?.signal.aborted) return h.controller.signal.reason;
    if (this.session.expired) return this.session.signal.reason;
    return new LockReleasedError(
      h.key,
      `${h.label}: key ${h.key} was deleted or replaced by someone else before unlock(); the lock had been lost`,
    );
  }

  /**
   * Take my key out of the queue after a failed or abandoned acquire. One attempt now; if etcd
   * cannot be reached, keep trying in the background until it works or the session ends (which
   * deletes the key too). The next acquire of this name on this session waits for it.
   */
  private async removeKey(key: string, rev: bigint | undefined): Promise<void> {
    try {
      await this.deleteMine(key, rev, FIRST_REMOVAL_TIMEOUT_MS);
    } catch (err) {
      if (this.session.expired || this.client.closed || !transient(err)) return;
      trackRemoval(this.session, this.claimId, this.retryRemoval(key, rev));
    }
  }

  private async deleteMine(key: string, rev: bigint | undefined, timeoutMs?: number): Promise<void> {
    // Without a known create revision (the put's outcome is unknown), any key of this name with
    // my lease is mine: the registry keeps other objects of this process off it.
    const guard =
      rev === undefined
        ? compare.lease(key, '==', this.session.lease)
        : compare.createRevision(key, '==', rev);
    await this.client
      .txn()
      .if(guard)
      .then(op.delete(key))
      .commit(timeoutMs === undefined ? {} : { timeoutMs });
  }

  /** Never rejects: ends when the key is removed, the session ends, or etcd refuses for good. */
  private async retryRemoval(key: string, rev: bigint | undefined): Promise<void> {
    const session = this.session.signal;
    for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, delay);
        t.unref();
        session.addEventListener('abort', done, { once: true });
        function done(): void {
          clearTimeout(t);
          session.removeEventListener('abort', done);
          resolve();
        }
      });
      if (session.aborted || this.client.closed) return;
      try {
        await this.deleteMine(key, rev);
        return;
      } catch (err) {
        if (!transient(err)) return;
      }
    }
  }

  private track(h: Holding): void {
    const s = this.session.signal;
    if (s.aborted) {
      this.lose(h, s.reason);
      return;
    }
    h.onSessionEnd = () => this.lose(h, s.reason);
    s.addEventListener('abort', h.onSessionEnd, { once: true });
    void this.follow(h, h.at + 1n);
  }

  /** Watch my key for a delete after the revision I knew it was mine. Never rejects. */
  private async follow(h: Holding, from: bigint): Promise<void> {
    const live = (): boolean => this.holding === h && !h.controller?.signal.aborted && this.state === 'held';
    let w: Watcher;
    try {
      w = this.client.watch({ key: h.key, startRevision: from, filters: { noPut: true } });
    } catch (err) {
      this.lose(
        h,
        new LockReleasedError(h.key, `${h.label}: ownership can no longer be followed`, { cause: err }),
      );
      return;
    }
    h.watcher = w;
    try {
      for await (const ev of w) {
        if (ev.type !== 'delete') continue;
        if (live())
          this.lose(h, this.session.expired ? this.session.signal.reason : new LockReleasedError(h.key));
        return;
      }
    } catch (err) {
      if (!live()) return;
      if (!(err instanceof CompactedError)) {
        this.lose(
          h,
          new LockReleasedError(h.key, `${h.label}: ownership can no longer be followed`, { cause: err }),
        );
        return;
      }
      // The history since I took the lock is gone: look at the key now and follow on from there.
      try {
        const r = await this.client.range({ key: h.key });
        if (!live()) return;
        if (r.kvs[0]?.createRevision !== h.rev) this.lose(h, new LockReleasedError(h.key));
        else void this.follow(h, r.revision + 1n);
      } catch (e) {
        if (live())
          this.lose(
            h,
            new LockReleasedError(h.key, `${h.label}: ownership can no longer be followed`, { cause: e }),
          );
      }
    } finally {
      w.close();
    }
  }

  private lose(h: Holding, reason: unknown): void {
    if (h.controller && !h.controller.signal.aborted) h.controller.abort(reason);
    this.stopTracking(h);
  }

  private stopTracking(h: Holding): void {
    if (h.onSessionEnd) this.session.signal.removeEventListener('abort', h.onSessionEnd);
    h.onSessionEnd = undefined;
    h.watcher?.close();
    h.watcher = undefined;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.releaseKey();
  }
}
