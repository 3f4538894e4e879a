import { EtcdError } from '@etcdkit/core';

/**
 * The last-known-good file could not be read or written, or belongs to another prefix.
 * Reading it only happens when etcd is unreachable at start; writing failures leave the
 * mirror running (they are reported on 'error').
 */
export class LastKnownGoodError extends EtcdError {
  declare readonly code: 'LAST_KNOWN_GOOD';
  /** The last-known-good file. */
  readonly path: string;
  /** `path`: the last-known-good file; `message` says what failed with it. */
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('LAST_KNOWN_GOOD', message, options);
    this.path = path;
  }
}

/** A changes() iterator fell more than `maxBuffered` changes behind; read the snapshot and start a new one. */
export class ChangesOverflowError extends EtcdError {
  declare readonly code: 'CHANGES_OVERFLOW';
  /** How many changes the consumer was allowed to fall behind. */
  readonly maxBuffered: number;
  /**
   * The message says how to recover: consume faster, raise `maxBuffered`, or start over from the
   * snapshot.
   */
  constructor(maxBuffered: number) {
    super(
      'CHANGES_OVERFLOW',
      `a changes() consumer fell ${maxBuffered} changes behind and was ended; consume faster, raise ` +
        '`maxBuffered`, or re-read snapshot() and iterate changes() again',
    );
    this.maxBuffered = maxBuffered;
  }
}

/** A subscriber's next/error/complete threw; the mirror and the other subscribers carry on. `cause` is what it threw. */
export class SubscriberError extends EtcdError {
  declare readonly code: 'SUBSCRIBER_FAILED';
  /** `cause`: what the subscriber threw. */
  constructor(cause: unknown) {
    super(
      'SUBSCRIBER_FAILED',
      `a config subscriber threw: ${cause instanceof Error ? cause.message : String(cause)}; handle errors inside the callback`,
      { cause },
    );
  }
}
