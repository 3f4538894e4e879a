import {
  type Bytes,
  compare,
  type Etcd,
  InvalidArgumentError,
  type KeyValue,
  op,
  type TxnResult,
} from '@etcdkit/core';
import { checkWaitOptions, prefixEnd, type WaitOptions, waitScope } from '@etcdkit/core/internal';
import { takeWhenAvailable } from './changes.js';
import { type Codec, resolveCodec } from './codec.js';
import { checkClient } from './key.js';
import { checkPrefix, checkValue, outcomeUnknown, PAGE, putNew } from './queue-keys.js';
import { TypedQueue } from './typed-queues.js';

/** Items read in the first page of a priority; later pages (past delayed items) read PAGE. */
const FIRST_PAGE = 16;

/** Lowest and highest priority; lower comes out first. */
export const MIN_PRIORITY = 0;
/** The highest (last served) priority. */
export const MAX_PRIORITY = 99_999;
/** The latest notBefore a Date can hold (ms since the epoch). */
const MAX_TIME_MS = 8.64e15;

/** Options of {@link Queue.enqueue}. */
export interface EnqueueOptions {
  /** 0 (first) to 99 999 (last); default 0. Items of one priority come out in enqueue order. */
  priority?: number;
  /** Not delivered before this time (a Date or ms since the epoch, per the consumer's clock). */
  notBefore?: Date | number;
}

/**
 * A FIFO queue with priorities and delays under a key prefix: each item is one key
 * `<prefix><priority, 5 digits>/<notBefore ms, 16 digits>-<random hex>` holding the value.
 * dequeue() takes the first item due (lowest priority, then lowest create revision) with a
 * txn guarded by its mod revision, so each item goes to exactly one consumer.
 */
export class Queue {
  /** The client the queue's keys live on. */
  readonly etcd: Etcd;
  /** The prefix the items live under; always ends with '/'. */
  readonly prefix: string;
  /** @internal how messages name this queue */
  readonly label: string;

  /**
   * A queue under `prefix` of `etcd` (a '/' is added when missing).
   *
   * @throws {@link @etcdkit/core!InvalidArgumentError} for a missing client or an empty prefix.
   */
  constructor(etcd: Etcd, prefix: string) {
    checkClient(etcd, 'Queue');
    this.etcd = etcd;
    this.prefix = checkPrefix(prefix, 'Queue');
    this.label = `queue ${JSON.stringify(this.prefix)}`;
  }

  /** Add an item; resolves with its key once etcd has it. */
  async enqueue(value: Bytes, options: EnqueueOptions = {}): Promise<string> {
    checkValue(value, `${this.label} enqueue()`);
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError(
        `${this.label} enqueue() takes an options object { priority?, notBefore? }`,
      );
    const priority = checkPriority(options.priority, `${this.label} enqueue()`);
    const due = checkNotBefore(options.notBefore, `${this.label} enqueue()`);
    const group = `${this.prefix}${String(priority).padStart(5, '0')}/`;
    return putNew(this.etcd, `${group}${String(due).padStart(16, '0')}-`, value);
  }

  /**
   * Take the next item due and resolve with its value. Waits while there is none: a watch on
   * the prefix wakes it at the next enqueue, a timer at the earliest delayed item's time.
   * `signal` stops waiting (AbortError), `timeoutMs` gives up (DeadlineExceededError); an
   * aborted dequeue takes nothing.
   */
  async dequeue(options?: WaitOptions): Promise<Buffer> {
    return (await this.takeNext(options)).value;
  }

  /**
   * A view of this queue with typed values: `enqueue(value: T)` encodes, `dequeue()` decodes
   * (JSON both ways unless `codec` says otherwise; config-sync's `decoders` fit as `decode`).
   * The items are the same keys: typed and raw producers and consumers can share one queue.
   */
  typed<T = unknown>(codec?: Codec<T>): TypedQueue<T> {
    return new TypedQueue(this, resolveCodec(codec, `${this.label} typed()`));
  }

  /** @internal dequeue(), with the item's key */
  async takeNext(options?: WaitOptions): Promise<{ key: string; value: Buffer }> {
    checkWaitOptions(options, `${this.label} dequeue()`);
    const scope = waitScope(`${this.label} dequeue()`, options);
    try {
      return await takeWhenAvailable<{ key: string; value: Buffer }>(
        this.etcd,
        this.prefix,
        scope,
        'puts',
        async (signal) => {
          const next = await this.pick(signal);
          // Nothing due: wait for an enqueue, or the earliest delayed item's time.
          if (next.items.length === 0) return { none: true, wakeAt: next.wakeAt };
          // One that lost an item to another consumer tries the next one read (the lost one is gone).
          for (const item of next.items) {
            if (scope.aborted) throw scope.reason;
            const value = await this.take(item);
            if (value) return { taken: { key: item.key.toString(), value } };
          }
          return { lost: true };
        },
      );
    } catch (err) {
      throw scope.aborted ? scope.reason : err;
    } finally {
      scope.dispose();
    }
  }

  /** How many items the queue holds, delayed ones included. */
  async size(options: { signal?: AbortSignal } = {}): Promise<number> {
    checkWaitOptions(options, `${this.label} size()`);
    const r = await this.etcd.range({ prefix: this.prefix, countOnly: true, ...signalOf(options) });
    return r.count;
  }

  /**
   * The items due, first one first (those of the first page that has one), or when every item
   * is delayed, the time the first one comes due. Priorities in key order (one read finds the
   * next one present), and within one, items by create revision, page by page past delayed ones.
   */
  private async pick(signal: AbortSignal): Promise<{ items: KeyValue[]; wakeAt?: number }> {
    const now = Date.now();
    const end = prefixEnd(Buffer.from(this.prefix));
    let from: Buffer = Buffer.from(this.prefix);
    let wakeAt: number | undefined;
    for (;;) {
      const head = await this.etcd.range({
        key: from,
        end,
        limit: 1,
        keysOnly: true,
        sort: { target: 'key', order: 'ascend' },
        signal,
      });
      const first = head.kvs[0];
      if (!first) return wakeAt === undefined ? { items: [] } : { items: [], wakeAt };
      const rest = first.key.subarray(this.prefix.length).toString();
      const slash = rest.indexOf('/');
      if (slash < 0) {
        // Not an item of ours (no priority segment): step past it.
        from = Buffer.concat([first.key, Buffer.from([0])]);
        continue;
      }
      const group = Buffer.from(`${this.prefix}${rest.slice(0, slash + 1)}`);
      let minCreate = 0n;
      for (;;) {
        const page = await this.etcd.range({
          prefix: group,
          // The first page small: a consumer needs the head (and a few behind it when another
          // takes the head first), and decoding a long backlog on every dequeue costs more than
          // a second read once in a while.
          limit: minCreate ? PAGE : FIRST_PAGE,
          keysOnly: true,
          sort: { target: 'create', order: 'ascend' },
          ...(minCreate ? { minCreateRevision: minCreate } : {}),
          signal,
        });
        const items: KeyValue[] = [];
        for (const kv of page.kvs) {
          const due = dueOf(kv.key);
          if (due <= now) items.push(kv);
          else if (wakeAt === undefined || due < wakeAt) wakeAt = due;
        }
        if (items.length) return { items };
        const last = page.kvs.at(-1);
        if (!page.more || !last) break;
        minCreate = last.createRevision + 1n;
      }
      from = prefixEnd(group);
    }
  }

  /**
   * Delete the item if it is still as read; its value, or undefined when another consumer won.
   * Not cut short by the caller's signal: an abort could land after etcd applied the delete,
   * and the item would be gone with nobody holding it.
   */
  private async take(item: KeyValue): Promise<Buffer | undefined> {
    let r: TxnResult;
    try {
      r = await this.etcd
        .txn()
        .if(compare.modRevision(item.key, '==', item.modRevision))
        .then(op.get(item.key), op.delete(item.key))
        .commit();
    } catch (err) {
      // The answer was lost (a member died): if the item is still there, the take did not
      // happen and the caller can go on; if it is gone, it may be this take's, so say so.
      if (!outcomeUnknown(err)) throw err;
      const now = await this.etcd.get(item.key).catch(() => {
        throw err; // still unknown: the original error says so
      });
      if (now?.modRevision === item.modRevision) return undefined;
      throw err;
    }
    if (!r.succeeded) return undefined;
    const got = r.responses[0];
    return got?.type === 'range' ? got.kvs[0]?.value : undefined;
  }
}

/** The notBefore written in an item's key (0: none); a key not in our layout counts as due. */
function dueOf(key: Buffer): number {
  const name = key.subarray(key.lastIndexOf('/') + 1).toString();
  const due = Number(name.slice(0, 16));
  return name[16] === '-' && Number.isSafeInteger(due) ? due : 0;
}

function checkPriority(priority: unknown, what: string): number {
  if (priority === undefined) return MIN_PRIORITY;
  if (
    typeof priority !== 'number' ||
    !Number.isSafeInteger(priority) ||
    priority < MIN_PRIORITY ||
    priority > MAX_PRIORITY
  )
    throw new InvalidArgumentError(
      `${what}: priority must be a whole number from ${MIN_PRIORITY} (first) to ${MAX_PRIORITY}, got ${String(priority)}`,
    );
  return priority;
}

function checkNotBefore(notBefore: unknown, what: string): number {
  if (notBefore === undefined) return 0;
  const ms = notBefore instanceof Date ? notBefore.getTime() : notBefore;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_TIME_MS)
    throw new InvalidArgumentError(
      `${what}: notBefore must be a valid Date or ms since the epoch (0 to ${MAX_TIME_MS}), got ${String(notBefore)}`,
    );
  return Math.ceil(ms);
}

function signalOf(options: { signal?: AbortSignal }): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}
