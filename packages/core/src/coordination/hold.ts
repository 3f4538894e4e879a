import { ClientClosedError, LeaseNotFoundError, SessionExpiredError } from '../errors.js';
import type { Session } from '../session.js';
import { type Compare, compare } from '../txn.js';
import { followOwnership, type LossCause, type Ownership } from './ownership.js';
import { deleteIfMine, retryLeave } from './queue.js';

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

  constructor(session: Session, key: Buffer, rev: bigint, at: bigint, lost: (cause: LossCause) => unknown) {
    this.session = session;
    this.key = key;
    this.rev = rev;
    this.at = at;
    this.lost = lost;
  }

  /** True while the key holds for guarded writes: `txn().if(hold.isOwner())`. */
  isOwner(): Compare {
    return compare.createRevision(this.key, '==', this.rev);
  }

  /** Aborts when ownership ends. Following starts on first use: one watch on the shared stream. */
  get signal(): AbortSignal {
    this.ownership ??= followOwnership(this.session, this.key, this.rev, this.at, this.lost);
    return this.ownership.signal;
  }

  /**
   * Delete my key if it is still mine (a guarded delete). `reason()` aborts the signal (made only
   * when the signal was ever followed: an error's stack costs more than the rest of a release). Rejects
   * with why ownership had ended when the key was no longer mine: the guarded work may have
   * overlapped another owner's. If etcd cannot be reached, the delete is retried in the
   * background until the session ends.
   */
  async release(reason: () => unknown): Promise<void> {
    const lostBefore = this.ownership?.signal.aborted ? this.ownership.signal.reason : undefined;
    this.ownership?.stop(reason());
    let result: { deleted: boolean };
    try {
      result = await deleteIfMine(this.session.client, this.key, this.rev);
    } catch (err) {
      if (!this.session.expired && !(err instanceof ClientClosedError))
        retryLeave(this.session, this.key, this.rev);
      throw sessionError(this.session, err);
    }
    if (!result.deleted)
      throw (
        lostBefore ?? (this.session.expired ? this.session.signal.reason : this.lost({ kind: 'deleted' }))
      );
  }

  /** Stop following without deleting (the key went with the session, or is kept on purpose). */
  forget(reason: () => unknown): void {
    this.ownership?.stop(reason());
  }
}

/** A failure as the session explains it: its own reason once it is over, LeaseNotFound = over. */
export function sessionError(session: Session, err: unknown): unknown {
  if (session.expired) return session.signal.reason;
  if (err instanceof LeaseNotFoundError)
    return new SessionExpiredError(session.lease, undefined, { cause: err });
  return err;
}
