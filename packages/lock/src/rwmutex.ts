import { compare, op, type Session } from '@etcdkit/core';
import { type Attempt, checkName, checkSession, KeyLock, type Plan } from './internal/key-lock.js';
import { kvsOf, waitForPredecessors } from './internal/queue.js';
import type { LockOptions } from './internal/wait-signal.js';

export type RWMode = 'read' | 'write';

/**
 * A readers-writer lock (after etcd's Go recipe): readers queue as `<name>/read/<lease hex>`,
 * writers as `<name>/write/<lease hex>`, all in one queue ordered by create revision.
 * A writer waits for every key created before its own; a reader only for writers created
 * before it. So readers share, a writer excludes everyone, and a waiting writer is not
 * overtaken by readers that arrive after it.
 *
 * One object holds one mode at a time; like Mutex, it is not reentrant.
 */
export class RWMutex extends KeyLock {
  readonly name: string;
  private readonly plans: Record<RWMode, Plan>;
  private heldMode: RWMode | undefined;

  constructor(session: Session, name: string) {
    checkSession(session, 'RWMutex');
    checkName(name, 'RWMutex');
    super(session, name);
    this.name = name;
    const lease = session.lease;
    const client = this.client;
    const all = `${name}/`;
    const writers = `${name}/write/`;
    const plan = (mode: RWMode, blockers: string): Plan => {
      const key = `${name}/${mode}/${lease.toString(16)}`;
      const absent = compare.createRevision(key, '==', 0);
      const put = op.put(key, '', { lease });
      const mine = op.get(key);
      const first = op.get({
        prefix: blockers,
        sort: { target: 'create', order: 'ascend' },
        limit: 1,
        keysOnly: true,
      });
      return {
        key,
        label: `${mode} lock ${JSON.stringify(name)}`,
        async attempt(signal): Promise<Attempt> {
          const r = await client.txn().if(absent).then(put, first).else(mine, first).commit({ signal });
          const rev = r.succeeded ? r.revision : kvsOf(r.responses[0])[0]!.createRevision;
          const oldest = kvsOf(r.responses[1])[0];
          // Free when nothing that blocks me was queued before me (a writer's own key counts as "not before").
          return { rev, revision: r.revision, owned: !oldest || oldest.createRevision >= rev };
        },
        waitTurn: (rev, signal) => waitForPredecessors(client, key, rev, blockers, signal),
      };
    };
    this.plans = { read: plan('read', writers), write: plan('write', all) };
  }

  /** The mode held, or undefined when not locked. */
  get mode(): RWMode | undefined {
    return this.locked ? this.heldMode : undefined;
  }

  /** My key while locked or acquiring (it depends on the mode). */
  get key(): string | undefined {
    return this.idle || this.heldMode === undefined ? undefined : this.plans[this.heldMode].key;
  }

  /** Wait for shared (read) ownership. Same errors as Mutex.lock(). */
  async rlock(options?: LockOptions): Promise<this> {
    await this.take('read', options, true);
    return this;
  }

  /** Wait for exclusive (write) ownership. Same errors as Mutex.lock(). */
  async lock(options?: LockOptions): Promise<this> {
    await this.take('write', options, true);
    return this;
  }

  tryRLock(): Promise<boolean> {
    return this.take('read', undefined, false);
  }

  tryLock(): Promise<boolean> {
    return this.take('write', undefined, false);
  }

  /** Release whichever mode is held (guarded delete, as Mutex.unlock()). */
  unlock(): Promise<void> {
    return this.releaseKey();
  }

  /** Same as unlock(), named after Go's RUnlock. */
  runlock(): Promise<void> {
    return this.releaseKey();
  }

  private async take(mode: RWMode, options: LockOptions | undefined, wait: boolean): Promise<boolean> {
    // Busy: acquire() refuses with LockHeldError, and the mode in use must stay as it is.
    if (!this.idle) return this.acquireKey(this.plans[mode], options, wait);
    this.heldMode = mode;
    try {
      return await this.acquireKey(this.plans[mode], options, wait);
    } finally {
      if (this.idle) this.heldMode = undefined;
    }
  }
}
