import { compare, type Etcd, InvalidArgumentError, type KeyValue, op, type Session } from '@etcdkit/core';
import {
  abortable,
  checkWaitOptions,
  claim,
  claimedBy,
  deleteIfMine,
  doneWaiting,
  joinQueue,
  leaveQueue,
  noKeyUnder,
  pendingRemoval,
  sessionError,
  type Ticket,
  unclaim,
  untilDeleted,
  type WaitOptions,
  waitScope,
} from '@etcdkit/core/internal';
import { BarrierFullError, BarrierStateError } from './errors.js';

/**
 * A double barrier with the algorithm and key layout of etcd's Go recipe: `count`
 * participants enter() and are all let through once the last one arrives; then they leave()
 * and all go on once every one has left. Each participant holds `<key>/waiters/<lease hex>` on
 * its session's lease, so a participant that crashes frees its place when its session expires;
 * the last to arrive writes `<key>/ready`, and the last to leave deletes it.
 *
 * One participant per session: give each its own session.
 */
export class DoubleBarrier implements AsyncDisposable {
  /** The session this participant's key lives under. */
  readonly session: Session;
  /**
   * The barrier's key prefix: participants are under `<key>/waiters/`, the ready flag is
   * `<key>/ready`.
   */
  readonly key: string;
  /** How many participants the barrier waits for. */
  readonly count: number;
  /** My key while entered: `<key>/waiters/<lease id in lowercase hex>`. */
  readonly myKey: string;
  private readonly waiters: string;
  private readonly ready: string;
  private readonly label: string;
  private state: 'idle' | 'entering' | 'entered' | 'leaving' = 'idle';
  private rev = 0n;

  /**
   * A participant, on `session`, of the double barrier at `key` that waits for `count`
   * participants. Nothing is written until {@link DoubleBarrier.enter}.
   *
   * @throws {@link @etcdkit/core!InvalidArgumentError} for a bad session, an empty key, or a
   * `count` that is not a whole number >= 1.
   */
  constructor(session: Session, key: string, count: number) {
    if (
      session === null ||
      typeof session !== 'object' ||
      typeof session.lease !== 'bigint' ||
      typeof session.client?.txn !== 'function'
    )
      throw new InvalidArgumentError('DoubleBarrier needs a Session: `await etcd.session({ ttl })`');
    if (typeof key !== 'string' || key.length === 0)
      throw new InvalidArgumentError(
        `DoubleBarrier needs a non-empty key (a string), got ${JSON.stringify(key)}`,
      );
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1)
      throw new InvalidArgumentError(`DoubleBarrier count must be a whole number >= 1, got ${String(count)}`);
    this.session = session;
    this.key = key;
    this.count = count;
    this.waiters = `${key}/waiters/`;
    this.ready = `${key}/ready`;
    this.myKey = `${this.waiters}${session.lease.toString(16)}`;
    this.label = `double barrier ${JSON.stringify(key)}`;
  }

  private get client(): Etcd {
    return this.session.client;
  }

  /**
   * Take a place and wait until `count` participants have one. BarrierFullError when `count`
   * are in already. On abort, timeout or session loss the place is given back.
   */
  async enter(options?: WaitOptions): Promise<void> {
    checkWaitOptions(options, `${this.label} enter()`);
    if (this.state !== 'idle')
      throw new BarrierStateError(`${this.label}: enter() was called while ${this.state}; leave() first`);
    if (claimedBy(this.session, this.myKey)) throw this.sameSession();
    claim(this.session, this.myKey, this);
    this.state = 'entering';
    const scope = waitScope(`${this.label} enter()`, options, this.session);
    let joining = false;
    let ticket: Ticket | undefined;
    try {
      if (scope.aborted) throw scope.reason;
      // My key and everyone ahead of me, in one txn (the kernel's queue join).
      // A removal of my key from an earlier enter() still being retried goes first.
      const removal = pendingRemoval(this.session, this.myKey);
      if (removal) await abortable(removal, scope.signal);
      joining = true;
      const t = await joinQueue(this.session, {
        prefix: this.waiters,
        key: this.myKey,
        signal: scope.signal,
      });
      joining = false;
      doneWaiting(t);
      // The key was there already: put by another process with this lease; not ours to delete.
      if (!t.created) throw this.sameSession();
      ticket = t;
      const place = t.ahead.length + 1;
      if (place > this.count) throw new BarrierFullError(this.key, this.count);
      if (place === this.count) await this.client.put(this.ready, '', { signal: scope.signal });
      else await this.untilReady(t.rev, scope.signal);
      this.rev = t.rev;
      this.state = 'entered';
    } catch (err) {
      const e = scope.aborted ? scope.reason : sessionError(this.session, err);
      // Give my place back; when the join's outcome is unknown, any key of mine under this name.
      if ((ticket || joining) && !this.session.expired)
        await leaveQueue(this.session, this.myKey, ticket?.rev);
      this.state = 'idle';
      unclaim(this.session, this.myKey, this);
      throw e;
    } finally {
      scope.dispose();
    }
  }

  private sameSession(): BarrierStateError {
    return new BarrierStateError(
      `${this.label}: session ${this.session.lease.toString(16)} is already a participant; ` +
        'give each participant its own session',
    );
  }

  /** `ready` written after my key was: the last participant arrived. */
  private async untilReady(myRev: bigint, signal: AbortSignal): Promise<void> {
    // Watch from now, then one read for what came before (see the kernel's untilDeleted).
    const w = this.client.watch({ key: this.ready, filters: { noDelete: true }, signal });
    try {
      await w.ready;
      const kv = await this.client.get(this.ready, { signal });
      if (kv && kv.modRevision > myRev) return;
      for await (const ev of w) if (ev.kv.modRevision > myRev) return;
    } finally {
      w.close();
    }
  }

  /**
   * Give up my place and wait until every participant has left. The participant that entered
   * first waits for the others; each other one deletes its key and waits for the first. A
   * participant that crashed counts as gone once its session expires. After an abort or
   * timeout, leave() can be called again.
   */
  async leave(options?: WaitOptions): Promise<void> {
    checkWaitOptions(options, `${this.label} leave()`);
    if (this.state !== 'entered')
      throw new BarrierStateError(
        `${this.label}: leave() was called while ${this.state === 'idle' ? 'not entered' : this.state}`,
      );
    this.state = 'leaving';
    const scope = waitScope(`${this.label} leave()`, options);
    const signal = scope.signal;
    try {
      for (;;) {
        if (scope.aborted) throw scope.reason;
        const r = await this.client.range({ prefix: this.waiters, signal });
        if (r.kvs.length === 0) {
          // Everyone is gone, but the first one may have crashed before taking the ready mark
          // down: whoever sees the barrier empty does it, unless a new round has begun.
          await this.client.txn().if(noKeyUnder(this.waiters)).then(op.delete(this.ready)).commit({ signal });
          break;
        }
        const { lowest, highest } = ends(r.kvs);
        const mine = lowest.key.toString() === this.myKey && lowest.createRevision === this.rev;
        if (mine && r.kvs.length === 1) {
          // The last one out takes the ready mark down with its own key.
          await this.client
            .txn()
            .then(
              op.delete(this.ready),
              op.txn({
                if: [compare.createRevision(this.myKey, '==', this.rev)],
                then: [op.delete(this.myKey)],
              }),
            )
            .commit({ signal });
          break;
        }
        if (mine) await untilDeleted(this.client, highest.key, signal);
        else {
          await deleteIfMine(this.client, this.myKey, this.rev);
          await untilDeleted(this.client, lowest.key, signal);
        }
      }
      this.state = 'idle';
      unclaim(this.session, this.myKey, this);
    } catch (err) {
      this.state = 'entered';
      throw scope.aborted ? scope.reason : err;
    } finally {
      scope.dispose();
    }
  }

  /**
   * `await using`: a participant still in the barrier at the end of the scope gives its place
   * back without waiting for the others, as a crash would, but at once.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.state !== 'entered') return;
    this.state = 'idle';
    unclaim(this.session, this.myKey, this);
    if (!this.session.expired) await leaveQueue(this.session, this.myKey, this.rev);
  }
}

function ends(kvs: KeyValue[]): { lowest: KeyValue; highest: KeyValue } {
  let lowest = kvs[0]!;
  let highest = kvs[0]!;
  for (const kv of kvs) {
    if (kv.modRevision < lowest.modRevision) lowest = kv;
    if (kv.modRevision > highest.modRevision) highest = kv;
  }
  return { lowest, highest };
}
