import type { WaitOptions } from '@etcdkit/core/internal';
import type { Codec } from './codec.js';
import { InvalidValueError } from './errors.js';
import type { EnqueueOptions, Queue } from './queue.js';
import type { WorkItem, WorkQueue } from './work-queue.js';

/** A Queue whose values are encoded on the way in and decoded on the way out: `queue.typed<T>()`. */
export class TypedQueue<T> {
  /** The queue underneath (raw Buffers). */
  readonly queue: Queue;
  private readonly codec: Required<Codec<T>>;

  /** @internal use queue.typed() */
  constructor(queue: Queue, codec: Required<Codec<T>>) {
    this.queue = queue;
    this.codec = codec;
  }

  /** Encode `value` and add it; resolves with the item's key. */
  enqueue(value: T, options?: EnqueueOptions): Promise<string> {
    return this.queue.enqueue(this.codec.encode(value), options);
  }

  /**
   * Take the next item and decode it. When the decoder refuses it, the item is already out of
   * the queue (it was taken): InvalidValueError carries its key and bytes (`value`), with the
   * decoder's error as the cause, so nothing is dropped unseen.
   */
  async dequeue(options?: WaitOptions): Promise<T> {
    const item = await this.queue.takeNext(options);
    try {
      return this.codec.decode(item.value, item.key);
    } catch (err) {
      throw new InvalidValueError(
        item.key,
        `${this.queue.label}: item ${item.key} could not be decoded (${errorText(err)}); it was taken ` +
          'from the queue and its bytes are on this error (value)',
        { cause: err, value: item.value },
      );
    }
  }

  /** How many items the queue holds (delayed ones included), as {@link Queue.size}. */
  size(options?: { signal?: AbortSignal }): Promise<number> {
    return this.queue.size(options);
  }
}

/** A claimed work item with its value decoded. */
export interface TypedWorkItem<T> extends Omit<WorkItem, 'value'> {
  /** The item's value, decoded. */
  readonly value: T;
  /** The bytes as stored. */
  readonly raw: Buffer;
}

/** A WorkQueue whose values are encoded on the way in and decoded when claimed: `workQueue.typed<T>()`. */
export class TypedWorkQueue<T> {
  /** The work queue underneath (raw Buffers). */
  readonly queue: WorkQueue;
  private readonly codec: Required<Codec<T>>;

  /** @internal use workQueue.typed() */
  constructor(queue: WorkQueue, codec: Required<Codec<T>>) {
    this.queue = queue;
    this.codec = codec;
  }

  /** Encode `value` and add it as a new item; resolves with the item's key. */
  enqueue(value: T): Promise<string> {
    return this.queue.enqueue(this.codec.encode(value));
  }

  /**
   * Claim the oldest unclaimed item and decode it. When the decoder refuses it, the claim is
   * released (the item stays for a consumer that can read it, e.g. a newer version) and
   * InvalidValueError carries its key and bytes; ack it through the raw queue to drop it.
   */
  async claim(options?: WaitOptions): Promise<TypedWorkItem<T>> {
    const item = await this.queue.claim(options);
    let value: T;
    try {
      value = this.codec.decode(item.value, item.key);
    } catch (err) {
      await item.release().catch(() => {
        // The claim goes with the session anyway; the decoding error is what the caller needs.
      });
      throw new InvalidValueError(
        item.key,
        `${this.queue.label}: work item ${item.key} could not be decoded (${errorText(err)}); its claim was ` +
          'released and its bytes are on this error (value)',
        { cause: err, value: item.value },
      );
    }
    return { key: item.key, value, raw: item.value, ack: item.ack, release: item.release };
  }

  /** How many items the work queue holds, claimed ones included, as {@link WorkQueue.size}. */
  size(options?: { signal?: AbortSignal }): Promise<number> {
    return this.queue.size(options);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
