import { CompactedError, compare, type Etcd, InvalidArgumentError, op, type Session } from '@etcdkit/core';
import { type Attempt, checkName, checkSession, KeyLock, type Plan } from './internal/key-lock.js';
import { KeyGone, kvsOf } from './internal/queue.js';
import type { LockOptions } from './internal/wait-signal.js';

/**
 * A counting semaphore: at most `limit` holders at a time, admitted in arrival order.
 * Each session queues one key `<name>/<lease hex>` (its value is the limit, so users that
 * disagree on it are told); the holders are the `limit` keys with the lowest create revisions.
 *
 * A waiter counts the keys queued before it and follows their deletions on one watch of the
 * prefix, so it needs no read per release; it is admitted when fewer than `limit` remain ahead.
 */
export class Semaphore extends KeyLock {
  readonly name: string;
  readonly limit: number;
  /** `<name>/<lease id in lowercase hex>`. */
  readonly key: string;
  private readonly plan: Plan;

  constructor(session: Session, name: string, limit: number) {
    checkSession(session, 'Semaphore');
    checkName(name, 'Semaphore');
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new InvalidArgumentError(`Semaphore limit must be a whole number >= 1, got ${limit}`);
    super(session, name);
    this.name = name;
    this.limit = limit;
    const prefix = `${name}/`;
    const key = `${prefix}${session.lease.toString(16)}`;
    this.key = key;
    const client = this.client;
    const label = `semaphore ${JSON.stringify(name)}`;
    const value = String(limit);
    const absent = compare.createRevision(key, '==', 0);
    const put = op.put(key, value, { lease: session.lease });
    const mine = op.get(key);
    const firstHolders = op.get({ prefix, sort: { target: 'create', order: 'ascend' }, limit });
    this.plan = {
      key,
      label,
      async attempt(signal): Promise<Attempt> {
        const r = await client
          .txn()
          .if(absent)
          .then(put, firstHolders)
          .else(mine, firstHolders)
          .commit({ signal });
        const rev = r.succeeded ? r.revision : kvsOf(r.responses[0])[0]!.createRevision;
        const holders = kvsOf(r.responses[1]);
        const other = holders.find((kv) => kv.value.length > 0 && kv.value.toString() !== value);
        if (other)
          throw new InvalidArgumentError(
            `${label} is used with limit ${other.value.toString()} by ${other.key.toString()}, and with ${value} here; ` +
              'every user of a semaphore must give the same limit',
          );
        return { rev, revision: r.revision, owned: holders.some((kv) => kv.createRevision === rev) };
      },
      waitTurn: (rev, signal) => waitForSlot(client, key, rev, prefix, limit, signal),
    };
  }

  /** Wait for a slot. Same errors as Mutex.lock(). */
  async acquire(options?: LockOptions): Promise<this> {
    await this.acquireKey(this.plan, options, true);
    return this;
  }

  /** Take a slot if one is free right now; otherwise leave the queue and return false. */
  tryAcquire(): Promise<boolean> {
    return this.acquireKey(this.plan, undefined, false);
  }

  /** Give the slot back (guarded delete, as Mutex.unlock()). Does nothing when not held. */
  release(): Promise<void> {
    return this.releaseKey();
  }
}

/** Wait until fewer than `limit` keys created before `rev` remain; see the class comment. */
async function waitForSlot(
  client: Etcd,
  key: string,
  rev: bigint,
  prefix: string,
  limit: number,
  signal: AbortSignal,
): Promise<bigint> {
  const mine = op.get(key);
  const keyBytes = Buffer.from(key);
  // etcd counts a range before applying create-revision filters, so the keys themselves are read.
  const ahead = op.get({ prefix, maxCreateRevision: rev - 1n, keysOnly: true });
  for (;;) {
    const r = await client.txn().then(mine, ahead).commit({ signal });
    if (kvsOf(r.responses[0])[0]?.createRevision !== rev) throw new KeyGone();
    let count = kvsOf(r.responses[1]).length;
    if (count < limit) return r.revision;
    const w = client.watch({
      prefix,
      startRevision: r.revision + 1n,
      filters: { noPut: true },
      prevKv: true,
      signal,
    });
    try {
      batches: for await (const b of w.batches()) {
        for (const ev of b.events) {
          if (ev.kv.key.equals(keyBytes)) throw new KeyGone();
          const created = ev.prevKv?.createRevision;
          // Without the deleted key's history the count is unknown: read again.
          if (created === undefined) break batches;
          if (created < rev) count--;
        }
        if (count < limit) return b.revision;
      }
    } catch (err) {
      if (!(err instanceof CompactedError)) throw err;
    } finally {
      w.close();
    }
  }
}
