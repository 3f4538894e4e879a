/** One key changed. `revision` is the etcd revision that made the change. */
export type Change<T> =
  | {
      /** The key was created or its value changed. */
      type: 'put';
      /** The key, relative to the mirrored prefix. */
      key: string;
      /** The new value, decoded (and validated). */
      value: T;
      /** The value before, or undefined when the key is new. */
      prev: T | undefined;
      /** The etcd revision of the change. */
      revision: bigint;
    }
  | {
      /** The key was deleted (an invalid new value does not delete: the last good one stays). */
      type: 'delete';
      /** The key, relative to the mirrored prefix. */
      key: string;
      /** Always undefined for a delete. */
      value: undefined;
      /** The value the key had. */
      prev: T;
      /** The etcd revision of the change. */
      revision: bigint;
    };

/** Options of `changes()` on a mirror or a view. */
export interface ChangesOptions {
  /** Ends the iteration (with an AbortError). */
  signal?: AbortSignal;
  /** First yield a put for every key present now (prev undefined), then the changes. */
  replay?: boolean;
  /** Changes held for a slow consumer before it is ended with a ChangesOverflowError. Default 100 000. */
  maxBuffered?: number;
}
