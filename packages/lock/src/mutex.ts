import { compare, op, type Session } from '@etcdkit/core';
import { type Attempt, checkName, checkSession, KeyLock, type Plan } from './internal/key-lock.js';
import { kvsOf, waitForPredecessors } from './internal/queue.js';
import type { LockOptions } from './internal/wait-signal.js';

/**
 * A distributed mutex with the algorithm and key layout of etcd's Go `concurrency.Mutex`, so
 * it excludes `etcdctl lock <name>` and Go services too. The key is `<name>/<lease id in hex>`
 * on the session's lease; the owner is the key with the lowest create revision under
 * `<name>/`; a waiter watches only the key queued right before it. Waiters get the lock in the
 * order they arrived, and a crashed holder's key goes with its lease.
 *
 * Not reentrant: one object holds the lock once, and a second object on the same session is
 * refused (LockHeldError) rather than silently sharing the session's key.
 */
export class Mutex extends KeyLock {
  readonly name: string;
  /** `<name>/<lease id in lowercase hex>`, as etcdctl and Go write it. */
  readonly key: string;
  private readonly plan: Plan;

  constructor(session: Session, name: string) {
    checkSession(session, 'Mutex');
    checkName(name, 'Mutex');
    super(session, name);
    this.name = name;
    const prefix = `${name}/`;
    const key = `${prefix}${session.lease.toString(16)}`;
    this.key = key;
    const client = this.client;
    // The acquiring transaction is the same every time: build it once.
    const absent = compare.createRevision(key, '==', 0);
    const put = op.put(key, '', { lease: session.lease });
    const mine = op.get(key);
    const first = op.get({ prefix, sort: { target: 'create', order: 'ascend' }, limit: 1, keysOnly: true });
    this.plan = {
      key,
      label: `mutex ${JSON.stringify(name)}`,
      async attempt(signal): Promise<Attempt> {
        // One round trip when free: enqueue my key (or find it, if this session already has it,
        // as Go does) and read the current owner in the same transaction.
        const r = await client.txn().if(absent).then(put, first).else(mine, first).commit({ signal });
        const rev = r.succeeded ? r.revision : kvsOf(r.responses[0])[0]!.createRevision;
        const owner = kvsOf(r.responses[1])[0];
        return { rev, revision: r.revision, owned: !owner || owner.createRevision === rev };
      },
      waitTurn: (rev, signal) => waitForPredecessors(client, key, rev, prefix, signal),
    };
  }

  /**
   * Wait until the lock is mine. On abort or timeout the waiter key is removed so the queue moves
   * on. Throws AbortError, LockTimeoutError, SessionExpiredError, LockReleasedError (my waiter key
   * was deleted by someone else) or LockHeldError (already locked by this object or session).
   */
  async lock(options?: LockOptions): Promise<this> {
    await this.acquireKey(this.plan, options, true);
    return this;
  }

  /** Take the lock if it is free right now; otherwise leave the queue and return false. */
  tryLock(): Promise<boolean> {
    return this.acquireKey(this.plan, undefined, false);
  }

  /**
   * Delete my key if it is still the one that won the lock. Throws LockReleasedError (or
   * SessionExpiredError) when ownership had been lost before: the guarded work may have
   * overlapped another owner's. Does nothing when not locked.
   */
  unlock(): Promise<void> {
    return this.releaseKey();
  }
}
