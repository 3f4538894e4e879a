import { AbortError } from '@etcdkit/core';
import { ChangesOverflowError } from './errors.js';

/** One key changed. `revision` is the etcd revision that made the change. */
export type Change<T> =
  | { type: 'put'; key: string; value: T; prev: T | undefined; revision: bigint }
  | { type: 'delete'; key: string; value: undefined; prev: T; revision: bigint };

export interface ChangesOptions {
  /** Ends the iteration (with an AbortError). */
  signal?: AbortSignal;
  /** First yield a put for every key present now (prev undefined), then the changes. */
  replay?: boolean;
  /** Changes held for a slow consumer before it is ended with a ChangesOverflowError. Default 100 000. */
  maxBuffered?: number;
}

/**
 * A queue of changes for one consumer, registered when created so nothing between the
 * changes() call and the first next() is missed. Ends when the source ends, on break/return,
 * on abort, or when the consumer falls `maxBuffered` changes behind: buffered changes are
 * still delivered, then the error is thrown, so the consumer sees no gap without knowing it.
 */
export class ChangeStream<C> implements AsyncIterableIterator<C> {
  private buffer: C[] = [];
  private head = 0;
  private ended = false;
  private error: Error | undefined;
  private waiters: { resolve: (r: IteratorResult<C>) => void; reject: (e: Error) => void }[] = [];
  private readonly onAbort = () =>
    this.finish(new AbortError('changes() was aborted', { cause: this.signal?.reason }));

  constructor(
    private readonly maxBuffered: number,
    private readonly detach: (s: ChangeStream<C>) => void,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (signal?.aborted) queueMicrotask(this.onAbort);
    else signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** @internal */
  push(items: Iterable<C>): void {
    if (this.ended) return;
    for (const item of items) {
      const w = this.waiters.shift();
      if (w) {
        w.resolve({ value: item, done: false });
        continue;
      }
      if (this.buffer.length - this.head >= this.maxBuffered) {
        this.finish(new ChangesOverflowError(this.maxBuffered));
        return;
      }
      this.buffer.push(item);
    }
  }

  /** @internal end after what is buffered; with an error, throw it then. */
  finish(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.detach(this);
    // Waiters exist only when the buffer is empty.
    for (const w of this.waiters.splice(0)) {
      if (this.error) {
        w.reject(this.error);
        this.error = undefined;
      } else w.resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<C>> {
    if (this.head < this.buffer.length) {
      const value = this.buffer[this.head]!;
      this.buffer[this.head++] = undefined as C;
      if (this.head === this.buffer.length) {
        this.buffer = [];
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.buffer.length) {
        this.buffer = this.buffer.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) {
      const e = this.error;
      this.error = undefined;
      return e ? Promise.reject(e) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<C>> {
    this.finish();
    this.buffer = [];
    this.head = 0;
    this.error = undefined;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
