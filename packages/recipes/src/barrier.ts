import { type Bytes, compare, type Etcd, op } from '@etcdkit/core';
import { checkWaitOptions, untilDeleted, type WaitOptions, waitScope } from '@etcdkit/core/internal';
import { checkClient, checkKey } from './key.js';

/**
 * A barrier (etcd's Go recipe): while its key exists, wait() blocks; release() deletes the
 * key and lets every waiter through. The key has no lease: a barrier outlives its holder.
 */
export class Barrier {
  /** The client the barrier's key lives on. */
  readonly etcd: Etcd;
  /** The barrier's key: the barrier is up while it exists. */
  readonly key: Buffer;
  private readonly label: string;

  /**
   * A barrier on the key `key` of `etcd`. Nothing is written until {@link Barrier.hold}.
   *
   * @throws {@link @etcdkit/core!InvalidArgumentError} for a missing client or an empty key.
   */
  constructor(etcd: Etcd, key: Bytes) {
    checkClient(etcd, 'Barrier');
    this.etcd = etcd;
    this.key = checkKey(key, 'Barrier');
    this.label = `barrier ${JSON.stringify(this.key.toString())}`;
  }

  /** Raise the barrier (create its key). False when it was already up. */
  async hold(): Promise<boolean> {
    const r = await this.etcd
      .txn()
      .if(compare.createRevision(this.key, '==', 0))
      .then(op.put(this.key, ''))
      .commit();
    return r.succeeded;
  }

  /** Lower the barrier: every waiter goes on. False when it was not up. */
  async release(): Promise<boolean> {
    return (await this.etcd.delete(this.key)).deleted > 0;
  }

  /** Whether the barrier is up now. */
  async held(): Promise<boolean> {
    return (await this.etcd.range({ key: this.key, countOnly: true })).count > 0;
  }

  /**
   * Resolve once the barrier is down (at once if it is). Follows the key with a watch; `signal`
   * stops waiting (AbortError), `timeoutMs` gives up (DeadlineExceededError).
   */
  async wait(options?: WaitOptions): Promise<void> {
    checkWaitOptions(options, `${this.label} wait()`);
    const scope = waitScope(`${this.label} wait()`, options);
    try {
      if (scope.aborted) throw scope.reason;
      await untilDeleted(this.etcd, this.key, scope.signal);
    } catch (err) {
      throw scope.aborted ? scope.reason : err;
    } finally {
      scope.dispose();
    }
  }
}
