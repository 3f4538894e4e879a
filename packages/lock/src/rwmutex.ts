import type { Etcd, KeyValue, Session } from '@etcdkit/core';
import { anyoneAhead, type Blocked, checkWaitOptions, takeTurn } from '@etcdkit/core/internal';
import { LockReleasedError } from './errors.js';
import { type InspectOptions, inspectRWMutex, type RWLockEntry, type RWLockQueue } from './inspect.js';
import { LockHandle } from './internal/lock-state.js';
import type { LockOptions } from './mutex.js';

/** The mode of an {@link RWMutex}: shared (`read`) or exclusive (`write`). */
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
export class RWMutex extends LockHandle {
  private readonly prefix: string;
  private readonly rules: Record<RWMode, Blocked>;
  private heldMode: RWMode | undefined;

  /** Who holds the lock `name` now: readers sharing it, or one writer (empty when free). One read. */
  static async holders(etcd: Etcd, name: string, options?: InspectOptions): Promise<RWLockEntry[]> {
    return (await inspectRWMutex(etcd, name, options)).holders;
  }

  /** Who waits, in queue order, each with the mode it asks for. */
  static async waiters(etcd: Etcd, name: string, options?: InspectOptions): Promise<RWLockEntry[]> {
    return (await inspectRWMutex(etcd, name, options)).waiters;
  }

  /** Holders and waiters from one read, with its revision. */
  static inspect(etcd: Etcd, name: string, options?: InspectOptions): Promise<RWLockQueue> {
    return inspectRWMutex(etcd, name, options);
  }

  /**
   * A readers-writer lock named `name` on `session`. Nothing is written until a lock call.
   *
   * @throws {@link @etcdkit/core!InvalidArgumentError} when `session` is not a Session or `name` is
   * not a non-empty string.
   */
  constructor(session: Session, name: string) {
    super(session, name, 'RWMutex');
    this.prefix = `${name}/`;
    const writers = Buffer.from(`${name}/write/`);
    const writerAhead: Blocked = (ahead) =>
      ahead.some((kv: KeyValue) => kv.key.subarray(0, writers.length).equals(writers));
    this.rules = { read: writerAhead, write: anyoneAhead };
  }

  /** The mode held, or undefined when not locked. */
  get mode(): RWMode | undefined {
    return this.locked ? this.heldMode : undefined;
  }

  /** My key while locked or acquiring (it depends on the mode). */
  get key(): string | undefined {
    return this.state.idle || this.heldMode === undefined ? undefined : this.keyOf(this.heldMode);
  }

  /** Wait for shared (read) ownership. Same errors as Mutex.lock(). */
  async rlock(options?: LockOptions): Promise<this> {
    await this.take('read', true, options);
    return this;
  }

  /** Wait for exclusive (write) ownership. Same errors as Mutex.lock(). */
  async lock(options?: LockOptions): Promise<this> {
    await this.take('write', true, options);
    return this;
  }

  /**
   * Take shared (read) ownership if no writer holds or waits ahead right now; otherwise leave the
   * queue and resolve false.
   */
  tryRLock(): Promise<boolean> {
    return this.take('read', false, undefined);
  }

  /**
   * Take exclusive (write) ownership if nobody holds or waits ahead right now; otherwise leave the
   * queue and resolve false.
   */
  tryLock(): Promise<boolean> {
    return this.take('write', false, undefined);
  }

  private keyOf(mode: RWMode): string {
    return `${this.prefix}${mode}/${this.session.lease.toString(16)}`;
  }

  private async take(mode: RWMode, wait: boolean, options: LockOptions | undefined): Promise<boolean> {
    const key = this.keyOf(mode);
    const label = `${mode} lock ${JSON.stringify(this.name)}`;
    checkWaitOptions(options, label);
    const busy = !this.state.idle; // acquire() refuses; the mode in use must stay as it is
    if (!busy) this.heldMode = mode;
    try {
      return await this.state.acquire(key, label, this.observed(mode), (observed) =>
        takeTurn(this.session, {
          observed,
          prefix: this.prefix,
          key,
          blocked: this.rules[mode],
          label,
          wait,
          options,
          keyGone: () =>
            new LockReleasedError(
              key,
              `${label}: the waiter key ${key} was deleted by someone else while waiting; lock again`,
            ),
        }),
      );
    } finally {
      if (!busy && this.state.idle) this.heldMode = undefined;
    }
  }

  /** Release whichever mode is held (guarded delete, as Mutex.unlock()). */
  unlock(): Promise<void> {
    return this.state.release();
  }

  /** Same as unlock(), named after Go's RUnlock. */
  runlock(): Promise<void> {
    return this.state.release();
  }
}
