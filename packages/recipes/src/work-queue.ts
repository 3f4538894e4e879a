import {
  type Bytes,
  compare,
  type Etcd,
  InvalidArgumentError,
  type KeyValue,
  op,
  type Session,
} from '@etcdkit/core';
import { checkWaitOptions, sessionError, type WaitOptions, waitScope } from '@etcdkit/core/internal';
import { takeWhenAvailable } from './changes.js';
import { type Codec, resolveCodec } from './codec.js';
import { ClaimLostError } from './errors.js';
import { checkPrefix, checkValue, outcomeUnknown, PAGE, putNew } from './queue-keys.js';
import { TypedWorkQueue } from './typed-queues.js';

/** An item claimed by this consumer: process it, then ack() it. */
export interface WorkItem {
  /** The item's key, `<prefix>items/<id>`. */
  readonly key: string;
  /** The item's value. */
  readonly value: Buffer;
  /** Delete the item (and the claim): done. ClaimLostError when the claim was lost first. */
  ack(): Promise<void>;
  /** Give the item back unprocessed, for any consumer. False when the claim was gone already. */
  release(): Promise<boolean>;
}

/** Who holds a claim: the item's key and the lease of the claiming session. */
export interface WorkClaim {
  /** The claimed item's key. */
  readonly key: string;
  /** The lease of the session that holds the claim. */
  readonly lease: bigint;
}

/**
 * A work queue with at-least-once processing. Items are `<prefix>items/<id>` (FIFO by create
 * revision). claim() writes `<prefix>claims/<id>` on the session's lease, in a txn that wants the
 * item there and no claim on it; the item stays until ack() deletes item and claim together. A
 * consumer that dies loses its claims with its session's lease, and the item is claimable again.
 */
export class WorkQueue {
  /** The session claims are made on: they end with it. */
  readonly session: Session;
  /** Always ends with '/'. */
  readonly prefix: string;
  private readonly items: string;
  private readonly claimsPrefix: string;
  /** @internal how messages name this queue */
  readonly label: string;

  /**
   * A consumer (and producer) of the work queue under `prefix`, claiming on `session` (a '/' is
   * added to `prefix` when missing).
   *
   * @throws {@link @etcdkit/core!InvalidArgumentError} for a bad session or an empty prefix.
   */
  constructor(session: Session, prefix: string) {
    if (
      session === null ||
      typeof session !== 'object' ||
      typeof session.lease !== 'bigint' ||
      typeof session.client?.txn !== 'function'
    )
      throw new InvalidArgumentError('WorkQueue needs a Session: `await etcd.session({ ttl })`');
    this.session = session;
    this.prefix = checkPrefix(prefix, 'WorkQueue');
    this.items = `${this.prefix}items/`;
    this.claimsPrefix = `${this.prefix}claims/`;
    this.label = `work queue ${JSON.stringify(this.prefix)}`;
  }

  private get etcd(): Etcd {
    return this.session.client;
  }

  /** Add an item; resolves with its key. */
  async enqueue(value: Bytes): Promise<string> {
    checkValue(value, `${this.label} enqueue()`);
    return putNew(this.etcd, this.items, value);
  }

  /**
   * Claim the oldest unclaimed item under this session and resolve with it. Waits while there
   * is none, on a watch of the prefix (a new item, or a claim that vanished). `signal` stops
   * waiting (AbortError), `timeoutMs` gives up (DeadlineExceededError), the session's end gives
   * SessionExpiredError; nothing is claimed then.
   */
  async claim(options?: WaitOptions): Promise<WorkItem> {
    checkWaitOptions(options, `${this.label} claim()`);
    const scope = waitScope(`${this.label} claim()`, options, this.session);
    try {
      return await takeWhenAvailable<WorkItem>(this.etcd, this.prefix, scope, undefined, async (signal) => {
        const item = await this.firstUnclaimed(signal);
        // Nothing to claim: wait for an enqueue, or a claim that went away.
        if (!item) return { none: true };
        const claimed = await this.tryClaim(item);
        return claimed ? { taken: claimed } : { lost: true };
      });
    } catch (err) {
      throw scope.aborted ? scope.reason : sessionError(this.session, err);
    } finally {
      scope.dispose();
    }
  }

  /**
   * A view of this queue with typed values: `enqueue(value: T)` encodes, `claim()` decodes (JSON
   * both ways unless `codec` says otherwise; config-sync's `decoders` fit as `decode`).
   */
  typed<T = unknown>(codec?: Codec<T>): TypedWorkQueue<T> {
    return new TypedWorkQueue(this, resolveCodec(codec, `${this.label} typed()`));
  }

  /** How many items the queue holds, claimed ones included. */
  async size(options: { signal?: AbortSignal } = {}): Promise<number> {
    checkWaitOptions(options, `${this.label} size()`);
    const r = await this.etcd.range({
      prefix: this.items,
      countOnly: true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return r.count;
  }

  /** The oldest unclaimed item, without claiming it; undefined when there is none. */
  async peek(options: { signal?: AbortSignal } = {}): Promise<
    | {
        /** The item's key, `<prefix>items/<id>`. */
        key: string;
        /** The item's value. */
        value: Buffer;
      }
    | undefined
  > {
    checkWaitOptions(options, `${this.label} peek()`);
    for (;;) {
      const item = await this.firstUnclaimed(options.signal);
      if (!item) return undefined;
      const kv = await this.etcd.get(item.key, options.signal ? { signal: options.signal } : {});
      // Acked between the two reads: look again.
      if (kv) return { key: kv.key.toString(), value: kv.value };
    }
  }

  /** The items claimed now, and by which lease. */
  async claims(options: { signal?: AbortSignal } = {}): Promise<WorkClaim[]> {
    checkWaitOptions(options, `${this.label} claims()`);
    const r = await this.etcd.range({
      prefix: this.claimsPrefix,
      sort: { target: 'create', order: 'ascend' },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return r.kvs.map((kv) => ({
      key: `${this.items}${kv.key.subarray(this.claimsPrefix.length).toString()}`,
      lease: kv.lease,
    }));
  }

  /** The oldest item without a claim (keys only), reading items page by page past claimed ones. */
  private async firstUnclaimed(signal?: AbortSignal): Promise<KeyValue | undefined> {
    const call = signal ? { signal } : {};
    const claimed = new Set<string>();
    const claims = await this.etcd.range({ prefix: this.claimsPrefix, keysOnly: true, ...call });
    for (const kv of claims.kvs) claimed.add(kv.key.subarray(this.claimsPrefix.length).toString());
    let minCreate = 0n;
    for (;;) {
      const page = await this.etcd.range({
        prefix: this.items,
        limit: PAGE,
        keysOnly: true,
        sort: { target: 'create', order: 'ascend' },
        ...(minCreate ? { minCreateRevision: minCreate } : {}),
        ...call,
      });
      for (const kv of page.kvs) if (!claimed.has(kv.key.subarray(this.items.length).toString())) return kv;
      const last = page.kvs.at(-1);
      if (!page.more || !last) return undefined;
      minCreate = last.createRevision + 1n;
    }
  }

  /**
   * Claim `item` if it is still there and unclaimed; undefined when someone was first. Not cut
   * short by the caller's signal: a claim applied after an abort would hold the item until the
   * session ends.
   */
  private async tryClaim(item: KeyValue): Promise<WorkItem | undefined> {
    const key = item.key.toString();
    const claimKey = `${this.claimsPrefix}${key.slice(this.items.length)}`;
    try {
      const r = await this.etcd
        .txn()
        .if(compare.createRevision(key, '==', item.createRevision), compare.createRevision(claimKey, '==', 0))
        .then(op.put(claimKey, this.session.lease.toString(16), { lease: this.session.lease }), op.get(key))
        .commit();
      if (!r.succeeded) return undefined;
      const got = r.responses[1];
      return this.workItem(key, claimKey, r.revision, got?.type === 'range' ? got.kvs[0]?.value : undefined);
    } catch (err) {
      // The answer was lost (a member died). A claim of ours that got in would hold the item
      // for as long as the session lives, with nobody working on it: look, and take it up.
      if (!outcomeUnknown(err)) throw err;
      const r = await this.etcd
        .txn()
        .then(op.get(claimKey), op.get(key))
        .commit()
        .catch(() => {
          throw err; // still unknown: the original error says so
        });
      const [claim, got] = r.responses.map((x) => (x.type === 'range' ? x.kvs[0] : undefined));
      if (!claim || claim.lease !== this.session.lease || !got) return undefined;
      return this.workItem(key, claimKey, claim.createRevision, got.value);
    }
  }

  private workItem(key: string, claimKey: string, claimRev: bigint, value: Buffer | undefined): WorkItem {
    // The claim's create revision tells this claim from a later one on the same item.
    const mine = [compare.createRevision(claimKey, '==', claimRev)];
    return {
      key,
      value: value ?? Buffer.alloc(0),
      ack: async () => {
        const done = await this.etcd
          .txn()
          .if(...mine)
          .then(op.delete(key), op.delete(claimKey))
          .else(op.get({ key, countOnly: true }))
          .commit();
        if (done.succeeded) return;
        // The item gone too: done already (an earlier ack whose answer was lost, or another
        // consumer after this claim was lost), so an ack can be retried safely.
        const left = done.responses[0];
        if (left?.type === 'range' && left.count > 0) throw new ClaimLostError(key);
      },
      release: async () => {
        const done = await this.etcd
          .txn()
          .if(...mine)
          .then(op.delete(claimKey))
          .commit();
        return done.succeeded;
      },
    };
  }
}
