import {
  AbortError,
  type Bytes,
  type CallOptions,
  type Compare,
  compare,
  DeadlineExceededError,
  InvalidArgumentError,
  type KeyValue,
  LeaseNotFoundError,
  type OpResponse,
  op,
  type Session,
  SessionExpiredError,
} from '@etcdkit/core';
import { CampaignInProgressError, NotLeaderError } from './errors.js';
import { abortError, linkSignals } from './internal/abort.js';
import { candidateKey, electionPrefix, toBuffer } from './internal/bytes.js';
import { type Leader, readLeader } from './leader.js';
import { LeaderObservation, type ObserveOptions } from './observe.js';

export interface CampaignOptions {
  /** Stop campaigning: the candidate key is withdrawn and campaign() rejects with an AbortError. */
  signal?: AbortSignal;
  /** Give up when not elected within this many milliseconds (DeadlineExceededError), withdrawing the key. */
  timeoutMs?: number;
}

function kvsOf(r: OpResponse | undefined): KeyValue[] {
  return r?.type === 'range' ? r.kvs : [];
}

/**
 * Leader election on a key prefix, with the algorithm and key layout of etcd's Go
 * `concurrency.Election` (so `etcdctl elect`, Go and Java services take part in the same
 * election). Each candidate holds `<name>/<lease id in hex>` on its session's lease, with its
 * proposal as the value; the leader is the key with the lowest create revision. A candidate
 * waits only for the deletion of the key created just before its own (no herd), so a resign
 * hands leadership over with one watch event and one read.
 */
export class Election implements AsyncDisposable {
  readonly session: Session;
  /** `<name>/`: every candidate key of this election starts with it. */
  readonly prefix: Buffer;
  /** This candidate's key, `<name>/<lease id in hex>`. */
  readonly key: Buffer;
  private rev: bigint | undefined;
  /** Our key may exist because of this Election (a campaign was made and not withdrawn). */
  private holding = false;
  private isElected = false;
  private lastRevision = 0n;
  private pending: { controller: AbortController; settled: Promise<void> } | undefined;

  constructor(session: Session, name: Bytes) {
    if (!session || typeof session.lease !== 'bigint' || !session.client)
      throw new InvalidArgumentError('new Election(session, name) needs a Session made by etcd.session()');
    this.session = session;
    this.prefix = electionPrefix(name);
    this.key = candidateKey(this.prefix, session.lease);
  }

  /** True from a successful campaign() until resign(), a failed proclaim() or the end of the session. */
  get elected(): boolean {
    return this.isElected && !this.session.expired;
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
   * Become the leader: add this candidate's key (or reuse it if the session already has one,
   * updating its value), then wait until every key created before it is gone. Resolves once
   * elected; rejects with SessionExpiredError if the session ends first, with an AbortError
   * (after withdrawing the key) when `signal` aborts or resign() is called, and with a
   * DeadlineExceededError after `timeoutMs`. Campaigning while already leader just updates
   * the value.
   */
  async campaign(value: Bytes, options: CampaignOptions = {}): Promise<void> {
    const val = toBuffer(value, 'campaign value');
    const { signal, timeoutMs } = options;
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs >= 0))
      throw new InvalidArgumentError(`timeoutMs must be a number of milliseconds >= 0, got ${timeoutMs}`);
    if (this.pending) throw new CampaignInProgressError();
    if (signal?.aborted) throw abortError('campaign', signal);
    if (this.session.expired) throw this.sessionError();

    const stop = new AbortController(); // resign() and the timeout
    let settle!: () => void;
    this.pending = { controller: stop, settled: new Promise<void>((r) => (settle = r)) };
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(
            () =>
              stop.abort(
                new DeadlineExceededError(`not elected within ${timeoutMs}ms; the candidacy was withdrawn`),
              ),
            timeoutMs,
          );
    const linked = linkSignals(stop.signal, signal, this.session.signal);
    try {
      await this.enqueue(val, linked.signal);
      await this.waitForTurn(linked.signal);
      this.isElected = true;
    } catch (err) {
      this.isElected = false;
      throw await this.campaignFailed(err, linked.signal, stop.signal, signal);
    } finally {
      clearTimeout(timer);
      linked.dispose();
      this.pending = undefined;
      settle();
    }
  }

  /** Announce a new value without a new election. Only the leader can; others get a NotLeaderError. */
  async proclaim(value: Bytes, options: CallOptions = {}): Promise<void> {
    const val = toBuffer(value, 'proclaimed value');
    if (!this.isElected || this.rev === undefined)
      throw new NotLeaderError('proclaim() needs leadership: campaign() first (and again after losing it)');
    if (this.session.expired) {
      this.isElected = false;
      const cause = this.session.signal.reason;
      throw new NotLeaderError('the session is over, and leadership with it; campaign with a new session', {
        cause,
      });
    }
    const r = await this.session.client
      .txn()
      .if(compare.createRevision(this.key, '==', this.rev))
      .then(op.put(this.key, val, { lease: this.session.lease }))
      .commit(options)
      .catch((err: unknown) => {
        if (!(err instanceof LeaseNotFoundError)) throw err;
        this.forget();
        throw new NotLeaderError('the session’s lease is gone, and leadership with it', { cause: err });
      });
    if (!r.succeeded) {
      this.forget();
      throw new NotLeaderError(
        `leadership was lost: the leader key ${this.key.toString()} is gone (session expired or key deleted); campaign again`,
      );
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
      pending.controller.abort(new AbortError('the campaign was ended by resign()'));
      await pending.settled;
    }
    await this.withdraw(options);
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
    if (!this.elected || this.rev === undefined) return compare.createRevision(this.key, '<', 0);
    return compare.createRevision(this.key, '==', this.rev);
  }

  /** The leader now, then every change (undefined when there is none). See LeaderObservation. */
  observe(options: ObserveOptions = {}): LeaderObservation {
    return new LeaderObservation(this.session.client, this.prefix, options);
  }

  /** Resign (the session stays open: it belongs to the caller). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.resign();
  }

  /** Put-if-absent of our key; if the session already had one, adopt it with the new value. */
  private async enqueue(val: Buffer, signal: AbortSignal): Promise<void> {
    const client = this.session.client;
    const lease = this.session.lease;
    // Set before the call: if its outcome is unknown, resign() must still clean up.
    this.holding = true;
    const r = await client
      .txn()
      .if(compare.createRevision(this.key, '==', 0))
      .then(op.put(this.key, val, { lease }))
      .else(op.get(this.key))
      .commit({ signal });
    if (r.succeeded) {
      this.rev = r.revision;
      this.lastRevision = r.revision;
      return;
    }
    const kv = kvsOf(r.responses[0])[0];
    if (!kv) throw await this.keyLost(); // cannot happen: compare and read are one txn
    this.rev = kv.createRevision;
    this.lastRevision = r.revision;
    if (kv.value.equals(val)) return;
    const p = await client
      .txn()
      .if(compare.createRevision(this.key, '==', kv.createRevision))
      .then(op.put(this.key, val, { lease }))
      .commit({ signal });
    if (!p.succeeded) throw await this.keyLost();
    this.lastRevision = p.revision;
  }

  /**
   * Wait until no key created before ours remains. Each round reads, in one request, the
   * newest key ahead of us and our own key: the latter catches a session that expired (or a
   * key deleted) while we waited, so a dead candidate never believes it won.
   */
  private async waitForTurn(signal: AbortSignal): Promise<void> {
    const client = this.session.client;
    const rev = this.rev!;
    for (;;) {
      const r = await client
        .txn()
        .then(
          op.get({
            prefix: this.prefix,
            // maxCreateRevision 0 would mean "no bound": revision 1 has no predecessors anyway.
            maxCreateRevision: rev > 1n ? rev - 1n : 1n,
            sort: { target: 'create', order: 'descend' },
            limit: 1,
            keysOnly: true,
          }),
          op.get(this.key),
        )
        .commit({ signal });
      const own = kvsOf(r.responses[1])[0];
      if (!own || own.createRevision !== rev) throw await this.keyLost();
      const ahead = kvsOf(r.responses[0])[0];
      if (!ahead || ahead.createRevision >= rev) {
        this.lastRevision = r.revision;
        return;
      }
      await client.waitForDelete(ahead.key, { startRevision: r.revision + 1n, signal });
    }
  }

  private async campaignFailed(
    err: unknown,
    linked: AbortSignal,
    stop: AbortSignal,
    caller: AbortSignal | undefined,
  ): Promise<unknown> {
    if (this.session.expired) {
      // The key goes with the lease; no request can help (and the connection may be down).
      this.forget();
      return this.sessionError();
    }
    if (err instanceof LeaseNotFoundError) {
      // Our put named the session's lease and etcd no longer has it: the session is over.
      this.forget();
      return new SessionExpiredError(this.session.lease, undefined, { cause: err });
    }
    if (!linked.aborted) {
      // E.g. etcd unavailable: the key may still exist; resign() or closing the session removes it.
      if (err instanceof NotLeaderError || err instanceof SessionExpiredError) this.forget();
      return err;
    }
    const reason = caller?.aborted ? abortError('campaign', caller) : (stop.reason as Error);
    // Withdraw the candidacy, as Go's Campaign does on cancellation, so nobody waits behind it.
    try {
      await this.withdraw();
    } catch (cleanup) {
      return cleanup;
    }
    return reason;
  }

  private async withdraw(options: CallOptions = {}): Promise<void> {
    if (!this.holding) return;
    const guard =
      this.rev !== undefined
        ? compare.createRevision(this.key, '==', this.rev)
        : compare.lease(this.key, '==', this.session.lease);
    const r = await this.session.client.txn().if(guard).then(op.delete(this.key)).commit(options);
    this.lastRevision = r.revision;
    this.forget();
  }

  private forget(): void {
    this.rev = undefined;
    this.holding = false;
    this.isElected = false;
  }

  /** Why our key is gone: the session's lease is (the session may not have noticed yet) or someone deleted it. */
  private async keyLost(): Promise<Error> {
    if (!this.session.expired) {
      const ttl = await this.session.leaseHandle.timeToLive().then(
        (t) => t.ttl,
        () => undefined,
      );
      if (ttl === undefined || ttl > 0)
        return new NotLeaderError(
          `the candidate key ${this.key.toString()} was deleted while campaigning; campaign again`,
        );
    }
    return this.sessionError();
  }

  private sessionError(): SessionExpiredError {
    const reason = this.session.signal.reason;
    return reason instanceof SessionExpiredError ? reason : new SessionExpiredError(this.session.lease);
  }
}
