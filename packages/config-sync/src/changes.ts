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
