import { type Compare, InvalidArgumentError, type Session } from '@etcdkit/core';
import {
  claim,
  claimedBy,
  Hold,
  type LossCause,
  type Observed,
  type Turn,
  unclaim,
} from '@etcdkit/core/internal';
import { LockHeldError, LockNotHeldError, LockReleasedError } from '../errors.js';

/**
 * The life of one lock object: idle → acquiring → held → releasing → idle. It refuses a
 * second acquire (locks are not reentrant) and a second object of this process on the same
 * name and session (both would share one etcd key), and turns a won turn into a Hold.
 */
export class LockState {
  private readonly session: Session;
  /** `name/`: one object per name and session in this process. */
  private readonly claimId: string;
  private state: 'idle' | 'acquiring' | 'held' | 'releasing' = 'idle';
  private hold: Hold | undefined;
  private label = '';
  private releasing: Promise<void> | undefined;

  constructor(session: Session, name: string) {
    this.session = session;
    this.claimId = `${name}/`;
  }

  get locked(): boolean {
    return this.state === 'held';
  }

  get idle(): boolean {
    return this.state === 'idle';
  }

  /** The hold while locked; LockNotHeldError naming `what` otherwise. */
  held(what: string): Hold {
    if (this.state !== 'held' || !this.hold)
      throw new LockNotHeldError(`${what} is only available while the lock is held: lock it first`);
    return this.hold;
  }

  fencingToken(): bigint {
    return this.held('fencingToken').rev;
  }

  isOwner(): Compare {
    return this.held('isOwner()').isOwner();
  }

  signal(): AbortSignal {
    return this.held('signal').signal;
  }

  /**
   * Run `take` (the kernel's takeTurn, given `observed` for the lock channel) unless this object
   * or this session is already at it.
   */
  async acquire(
    key: string,
    label: string,
    observed: Observed,
    take: (observed: Observed) => Promise<Turn | undefined>,
  ): Promise<boolean> {
    if (this.state !== 'idle')
      throw new LockHeldError(
        key,
        `${label}: this object ${this.state === 'acquiring' ? 'is already acquiring' : 'already holds'} a lock; ` +
          'locks are not reentrant: unlock it first, or use another object on its own session',
      );
    if (claimedBy(this.session, this.claimId))
      throw new LockHeldError(
        key,
        `${label}: session ${this.session.lease.toString(16)} already holds or waits for this lock through ` +
          'another object, and both would share one key; give each holder its own session, or use withLock()',
      );
    claim(this.session, this.claimId, this);
    this.state = 'acquiring';
    try {
      const turn = await take(observed);
      if (!turn) return false;
      const lost = (cause: LossCause): LockReleasedError =>
        cause.kind === 'deleted'
          ? new LockReleasedError(key)
          : new LockReleasedError(key, `${label}: ownership can no longer be followed`, {
              cause: cause.error,
            });
      this.hold = new Hold(this.session, turn.ticket.key, turn.ticket.rev, turn.at, lost, observed);
      this.label = label;
      this.state = 'held';
      return true;
    } finally {
      if (this.state === 'acquiring') {
        this.state = 'idle';
        unclaim(this.session, this.claimId, this);
      }
    }
  }

  /** The guarded delete of unlock(); rejects when ownership had been lost before. */
  release(): Promise<void> {
    if (this.state === 'releasing') return this.releasing!;
    if (this.state === 'acquiring')
      return Promise.reject(
        new LockNotHeldError(
          'unlock() was called while the lock is still being acquired; abort lock() with its signal',
        ),
      );
    const hold = this.hold;
    if (this.state === 'idle' || !hold) return Promise.resolve();
    this.state = 'releasing';
    const key = hold.key.toString();
    this.releasing = hold
      .release(new LockReleasedError(key, `${this.label} was released by unlock()`))
      .finally(() => {
        this.hold = undefined;
        this.releasing = undefined;
        this.state = 'idle';
        unclaim(this.session, this.claimId, this);
      });
    return this.releasing;
  }
}

/**
 * What every lock object shows while held: the fencing token, the ownership compare and
 * signal. Subclasses hold their queue's rule and name their acquire and release.
 */
export abstract class LockHandle implements AsyncDisposable {
  /** The session the lock's key lives under: losing it loses the lock. */
  readonly session: Session;
  /** The lock's name: the key prefix its queue lives under (relative to the client's namespace). */
  readonly name: string;
  protected readonly state: LockState;

  protected constructor(session: Session, name: string, what: string) {
    checkLockArgs(session, name, what);
    this.session = session;
    this.name = name;
    this.state = new LockState(session, name);
  }

  /** True from a successful acquire until release, even if ownership was lost meanwhile (see `signal`). */
  get locked(): boolean {
    return this.state.locked;
  }

  /**
   * The create revision of my key: strictly greater for every later owner of the lock. Pass it
   * to the resource the lock protects so it can refuse writes from an older owner.
   */
  get fencingToken(): bigint {
    return this.state.fencingToken();
  }

  /**
   * A compare that holds only while my key is the one that won the lock:
   * `etcd.txn().if(lock.isOwner()).then(...)`. It fails once the key is deleted (release,
   * session end) even if the same session locks again later.
   */
  isOwner(): Compare {
    return this.state.isOwner();
  }

  /**
   * Aborts when ownership ends: the session is lost (SessionExpiredError), the key is deleted
   * or replaced by someone else (LockReleasedError), or the lock is released.
   */
  get signal(): AbortSignal {
    return this.state.signal();
  }

  /** What the lock channel says this lock is. */
  protected observed(kind: string): Observed {
    return { channel: 'lock', kind, name: this.name };
  }

  /** Release (a guarded delete) at the end of an `await using` scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.state.release();
  }
}

/** Arguments every lock constructor checks. */
export function checkLockArgs(session: Session, name: string, what: string): void {
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
  if (typeof name !== 'string' || name.length === 0)
    throw new InvalidArgumentError(
      `${what} needs a non-empty lock name (a string), got ${JSON.stringify(name)}`,
    );
}
