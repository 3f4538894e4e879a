import { EtcdError } from '@etcdkit/core';

/** A key holds something a recipe cannot read (e.g. a counter that is not a decimal int64). */
export class InvalidValueError extends EtcdError {
  declare readonly code: 'INVALID_VALUE';
  /** The key whose value could not be read. */
  readonly key: string;
  /** `key`: the key whose value could not be read; `message` says what is wrong with it. */
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_VALUE', message, options);
    this.key = key;
  }
}

/** A double barrier already has `count` participants: this one was not let in. */
export class BarrierFullError extends EtcdError {
  declare readonly code: 'BARRIER_FULL';
  /** The double barrier's key. */
  readonly key: string;
  /** The number of participants it admits. */
  readonly count: number;
  /** The message says to wait until participants leave, or to raise `count`. */
  constructor(key: string, count: number) {
    super(
      'BARRIER_FULL',
      `double barrier ${JSON.stringify(key)} already has its ${count} participants; wait until they leave, or raise count`,
    );
    this.key = key;
    this.count = count;
  }
}

/** enter() or leave() of a double barrier were called out of order. */
export class BarrierStateError extends EtcdError {
  declare readonly code: 'BARRIER_STATE';
  /** `message` says which call came out of order. */
  constructor(message: string) {
    super('BARRIER_STATE', message);
  }
}

/**
 * A work queue claim is gone (its session ended, or it was released): ack() did not delete the
 * item, which another consumer may be processing now. Make the work idempotent.
 */
export class ClaimLostError extends EtcdError {
  declare readonly code: 'CLAIM_LOST';
  /** The item's key. */
  readonly key: string;
  /** `key`: the item whose claim was lost; the message says to make the work idempotent. */
  constructor(key: string) {
    super(
      'CLAIM_LOST',
      `the claim on work item ${JSON.stringify(key)} is gone (its session ended or it was released); ` +
        'the item stays for another consumer, so the work must tolerate being done twice',
    );
    this.key = key;
  }
}
