import { diagnostics } from '../diagnostics.js';
import { ClientClosedError, LeaseNotFoundError, SessionExpiredError } from '../errors.js';
import type { Session } from '../session.js';
import { type Compare, compare } from '../txn.js';
import { type Observed, observeEnd } from './observe.js';
import { followOwnership, type LossCause, type Ownership } from './ownership.js';
import { deleteIfMine, retryLeave } from './queue.js';

const { lock: lockChannel, election: electionChannel } = diagnostics;

/**
 * A turn that was won: my key, its create revision (the fencing token), the revision at which
 * it was known to be mine, the ownership compare and signal, and the guarded release.
 */
export class Hold {
  readonly session: Session;
  readonly key: Buffer;
  /** Create revision of my key: strictly greater for every later owner. */
  readonly rev: bigint;
  /** A revision at which the key was known to own the turn. */
  readonly at: bigint;
  private readonly lost: (cause: LossCause) => unknown;
  private ownership: Ownership | undefined;
  private readonly observed: Observed | undefined;
  private readonly since: number;
  /** The end (release, loss, forget) was seen: nothing more to publish. */
  private over = false;
  /** release() or forget() began: the abort of the signal that follows is not a loss. */
  private leaving = false;

  constructor(
    session: Session,
    key: Buffer,
    rev: bigint,
    at: bigint,
    lost: (cause: LossCause) => unknown,
    observed?: Observed,
  ) {
    this.session = session;
    this.key = key;
    this.rev = rev;
    this.at = at;
    this.lost = lost;
    this.observed = observed;
    this.since = observed ? performance.now() : 0;
    // With someone listening, a loss is reported when it happens: follow ownership from now on.
    if (observed && (observed.channel === 'lock' ? lockChannel : electionChannel).hasSubscribers)
      void this.signal;
  }

  /** Publish the end of the hold once: given up (`error` undefined) or lost. */
  private end(error: unknown): void {
    if (this.over) return;
    this.over = true;
    if (this.observed)
      observeEnd(this.observed, this.session, this.key, this.rev, performance.now() - this.since, error);
  }

  /** True while the key holds for guarded writes: `txn().if(hold.isOwner())`. */
  isOwner(): Compare {
    return compare.createRevision(this.key, '==', this.rev);
  }

  /** Aborts when ownership ends. Following starts on first use: one watch on the shared stream. */
  get signal(): AbortSignal {
    if (!this.ownership) {
      const o = followOwnership(this.session, this.key, this.rev, this.at, this.lost);
      this.ownership = o;
      if (this.observed)
        o.signal.addEventListener('abort', () => this.leaving || this.end(o.signal.reason), { once: true });
    }
    return this.ownership.signal;
  }

  /**
   * Delete my key if it is still mine (a guarded delete). `reason` aborts the signal. Rejects
   * with why ownership had ended when the key was no longer mine: the guarded work may have
   * overlapped another owner's. If etcd cannot be reached, the delete is retried in the
   * background until the session ends.
   */
  async release(reason: unknown): Promise<void> {
    const lostBefore = this.ownership?.signal.aborted ? this.ownership.signal.reason : undefined;
    if (lostBefore !== undefined) this.end(lostBefore);
    this.leaving = true;
    this.ownership?.stop(reason);
    let result: { deleted: boolean };
    try {
      result = await deleteIfMine(this.session.client, this.key, this.rev);
    } catch (err) {
      if (!this.session.expired && !(err instanceof ClientClosedError))
        retryLeave(this.session, this.key, this.rev);
      const e = sessionError(this.session, err);
      // Given up all the same (the key goes in the background or with the session), unless the session was lost.
      this.end(this.session.expired ? e : undefined);
      throw e;
    }
    if (!result.deleted) {
      const e =
        lostBefore ?? (this.session.expired ? this.session.signal.reason : this.lost({ kind: 'deleted' }));
      // Nobody followed ownership: the loss is found out only now.
      this.end(e);
      throw e;
    }
    this.end(undefined);
  }

  /**
   * Stop following without deleting (the key went with the session, or is kept on purpose).
   * `lost`: the hold ended because it was taken away (published as a loss), else it was given up.
   */
  forget(reason: unknown, lost?: unknown): void {
    this.leaving = true;
    this.end(lost);
    this.ownership?.stop(reason);
  }
}

/** A failure as the session explains it: its own reason once it is over, LeaseNotFound = over. */
export function sessionError(session: Session, err: unknown): unknown {
  if (session.expired) return session.signal.reason;
  if (err instanceof LeaseNotFoundError)
    return new SessionExpiredError(session.lease, undefined, { cause: err });
  return err;
}
