import {
  AbortError,
  type Bytes,
  type CallOptions,
  type Compare,
  compare,
  InvalidArgumentError,
  LeaseNotFoundError,
  op,
  type Session,
  SessionExpiredError,
} from '@etcdkit/core';
import {
  anyoneAhead,
  checkWaitOptions,
  deleteIfMine,
  Hold,
  type LossCause,
  leaveQueue,
  linkSignals,
  type Observed,
  type Ticket,
  takeTurn,
  type WaitOptions,
} from '@etcdkit/core/internal';
import { CampaignInProgressError, NotLeaderError } from './errors.js';
import { candidateKey, electionPrefix, toBuffer } from './internal/keys.js';
import { type Leader, readLeader } from './leader.js';
import { LeaderObservation, type ObserveOptions } from './observe.js';

/** `signal` stops campaigning (AbortError); `timeoutMs` gives up (DeadlineExceededError). Either withdraws the key. */
export type CampaignOptions = WaitOptions;

/**
 * Leader election on a key prefix, with the algorithm and key layout of etcd's Go
 * `concurrency.Election` (so `etcdctl elect`, Go and Java services take part in the same
 * election). Each candidate holds `<name>/<lease id in hex>` on its session's lease, with its
 * proposal as the value; the leader is the key with the lowest create revision. A candidate
 * is elected when the deletions of the keys ahead of it, known from its join, have all been
 * seen: resign hands leadership over with one watch event.
 *
 * @example
 * ```ts
 * const session = await etcd.session({ ttl: 10 });
 * const election = new Election(session, 'scheduler');
 * await election.campaign('worker-1', { signal }); // resolves once elected
 * await lead(election.signal); // aborts when leadership ends; guard writes with isLeader():
 * await etcd.txn().if(election.isLeader()).then(op.put('jobs/last-tick', Date.now().toString())).commit();
 * await election.resign(); // the next candidate is elected at once
 * ```
 */
export class Election implements AsyncDisposable {
  /**
   * The session this candidate campaigns on: its key lives (and leadership ends) with the session's
   * lease.
   */
  readonly session: Session;
  /** `<name>/`: every candidate key of this election starts with it. */
  readonly prefix: Buffer;
  /** This candidate's key, `<name>/<lease id in hex>`. */
  readonly key: Buffer;
  /** My key's create revision while campaigning or elected (undefined: no key of mine known). */
  private rev: bigint | undefined;
  /** My key may exist because of this Election: resign() must delete it. */
  private holding = false;
  private hold: Hold | undefined;
  private lastRevision = 0n;
  private pending: { stop: AbortController; settled: Promise<void> } | undefined;
  /** What the election channel says this candidate is. */
  private readonly observed: Observed;

  /**
   * A candidate in the election `name` on `session` (its key: `<name>/<lease id in hex>`). Nothing
   * is written until {@link Election.campaign}.
   *
   * @throws {@link @etcdkit/core!InvalidArgumentError} when `session` is not a Session or `name` is
   * empty.
   */
  constructor(session: Session, name: Bytes) {
    if (!session || typeof session.lease !== 'bigint' || !session.client)
      throw new InvalidArgumentError('new Election(session, name) needs a Session made by etcd.session()');
    this.session = session;
    this.prefix = electionPrefix(name);
    this.key = candidateKey(this.prefix, session.lease);
    this.observed = { channel: 'election', kind: 'candidate', name: this.prefix.subarray(0, -1).toString() };
  }

  /**
   * Become the leader: add this candidate's key (or adopt the session's existing key, updating
   * its value), then wait until every key created before it is gone. Resolves once elected.
   * Rejects with SessionExpiredError when the session ends first, with an AbortError (after
   * withdrawing the key) when `signal` aborts or resign() is called, with a
   * DeadlineExceededError after `timeoutMs`, and with NotLeaderError when someone deleted the
   * key meanwhile. Campaigning while already leader just updates the value.
   */
  async campaign(value: Bytes, options: CampaignOptions = {}): Promise<void> {
    const val = toBuffer(value, 'campaign value');
    checkWaitOptions(options, 'campaign');
    if (this.pending) throw new CampaignInProgressError();
    const stop = new AbortController(); // resign()
    const signal = linkSignals(stop.signal, options.signal);
    let settle!: () => void;
    this.pending = { stop, settled: new Promise<void>((r) => (settle = r)) };
    try {
      this.hold?.forget(new NotLeaderError('a new campaign() began'));
      this.hold = undefined;
      this.holding = true; // set before the join: if its outcome is unknown, resign() still cleans up
      const turn = await takeTurn(this.session, {
        prefix: this.prefix,
        key: this.key,
        value: val,
        blocked: anyoneAhead,
        label: 'campaign',
        timeoutReason: 'campaign',
        observed: this.observed,
        wait: true,
        options: {
          signal: signal.signal,
          ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        },
        joined: (t, s) => this.adopt(t, val, s),
        keyGone: () =>
          new NotLeaderError(
            `the candidate key ${this.key.toString()} was deleted while campaigning; campaign again`,
          ),
      });
      const { ticket, at } = turn!;
      this.rev = ticket.rev;
      if (at > this.lastRevision) this.lastRevision = at;
      this.hold = new Hold(
        this.session,
        this.key,
        ticket.rev,
        at,
        (cause) => this.lossError(cause),
        this.observed,
      );
    } catch (err) {
      this.forget();
      throw err;
    } finally {
      signal.dispose();
      this.pending = undefined;
      settle();
    }
  }

  /** After the join: remember my key; if the session's key was adopted with another value, proclaim it. */
  private async adopt(t: Ticket, val: Buffer, signal: AbortSignal | undefined): Promise<void> {
    this.rev = t.rev;
    this.lastRevision = t.revision;
    if (t.created || !t.found || t.found.value.equals(val)) return;
    const r = await this.session.client
      .txn()
      .if(compare.createRevision(this.key, '==', t.rev))
      .then(op.put(this.key, val, { lease: this.session.lease }))
      .commit(signal ? { signal } : {});
    if (!r.succeeded)
      throw new NotLeaderError(
        `the candidate key ${this.key.toString()} was deleted while campaigning; campaign again`,
      );
    this.lastRevision = r.revision;
  }

  /** True from a successful campaign() until resign(), a failed proclaim() or the end of the session. */
  get elected(): boolean {
    return this.hold !== undefined && !this.session.expired;
  }

  /** Create revision of this candidate's key while campaigning or elected; it orders the candidates. */
  get createRevision(): bigint | undefined {
    return this.rev;
  }

  /** Store revision at which this candidate last confirmed its state (campaign, proclaim, resign). */
  get revision(): bigint {
    return this.lastRevision;
  }

  /**
   * Aborts when leadership ends: the session is lost (SessionExpiredError), the key is deleted
   * by someone else (NotLeaderError), or resign() is called. Following starts on first use.
   */
  get signal(): AbortSignal {
    if (!this.hold) throw new NotLeaderError('signal is only available while elected: campaign() first');
    return this.hold.signal;
  }

  /** Announce a new value without a new election. Only the leader can; others get a NotLeaderError. */
  async proclaim(value: Bytes, options: CallOptions = {}): Promise<void> {
    const val = toBuffer(value, 'proclaimed value');
    const hold = this.hold;
    if (!hold)
      throw new NotLeaderError('proclaim() needs leadership: campaign() first (and again after losing it)');
    if (this.session.expired) {
      this.forget(this.session.signal.reason);
      throw new NotLeaderError('the session is over, and leadership with it; campaign with a new session', {
        cause: this.session.signal.reason,
      });
    }
    const r = await this.session.client
      .txn()
      .if(hold.isOwner())
      .then(op.put(this.key, val, { lease: this.session.lease }))
      .commit(options)
      .catch((err: unknown) => {
        if (!(err instanceof LeaseNotFoundError)) throw err;
        const lost = new NotLeaderError('the session’s lease is gone, and leadership with it', {
          cause: err,
        });
        this.forget(lost);
        throw lost;
      });
    if (!r.succeeded) {
      const lost = new NotLeaderError(
        `leadership was lost: the leader key ${this.key.toString()} is gone (session expired or key deleted); campaign again`,
      );
      this.forget(lost);
      throw lost;
    }
    this.lastRevision = r.revision;
  }

  /**
   * Give up leadership (or the pending campaign): deletes this candidate's key, guarded by its
   * create revision so a newer key of the same lease is never touched. The next candidate is
   * elected at once. Without a campaign, does nothing.
   */
  async resign(options: CallOptions = {}): Promise<void> {
    const pending = this.pending;
    if (pending) {
      pending.stop.abort(new AbortError('the campaign was ended by resign()'));
      await pending.settled;
    }
    if (!this.holding) return;
    const rev = this.rev;
    this.hold?.forget(new NotLeaderError('leadership was given up by resign()'));
    if (rev === undefined) await leaveQueue(this.session, this.key, undefined);
    else this.lastRevision = (await deleteIfMine(this.session.client, this.key, rev, options)).revision;
    this.forget();
  }

  /** The current leader, or undefined when no candidate is in the election. */
  async leader(options: CallOptions = {}): Promise<Leader | undefined> {
    return (await readLeader(this.session.client, this.prefix, options)).leader;
  }

  /**
   * A compare for guarded transactions, true while this candidate is the elected leader:
   * `etcd.txn().if(election.isLeader()).then(...)`. Made when not elected (or once the session
   * is lost), it never holds; made while elected, it stops holding when the key goes.
   */
  isLeader(): Compare {
    // A session declared lost locally may still hold its key in etcd for a moment: refuse anyway.
    if (!this.elected || !this.hold) return compare.createRevision(this.key, '<', 0);
    return this.hold.isOwner();
  }

  /** The leader now, then every change (undefined when there is none). See LeaderObservation. */
  observe(options: ObserveOptions = {}): LeaderObservation {
    return new LeaderObservation(this.session.client, this.prefix, options);
  }

  /** Resign (the session stays open: it belongs to the caller). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.resign();
  }

  /** Why leadership ended, when the session did not end it (the kernel gives the session's own reason then). */
  private lossError(cause: LossCause): Error {
    return cause.kind === 'deleted'
      ? new NotLeaderError(`the leader key ${this.key.toString()} was deleted; leadership is lost`)
      : new NotLeaderError('the leader key can no longer be followed; leadership cannot be vouched for', {
          cause: cause.error,
        });
  }

  /** Drop what this candidate held; `lost`: leadership was taken away (not given up), and why. */
  private forget(lost?: unknown): void {
    this.hold?.forget(new NotLeaderError('leadership ended'), lost);
    this.hold = undefined;
    this.rev = undefined;
    this.holding = false;
  }
}
