import { EtcdError } from '@etcdkit/core';

/** A key holds something a recipe cannot read (e.g. a counter that is not a decimal int64). */
export class InvalidValueError extends EtcdError {
  declare readonly code: 'INVALID_VALUE';
  readonly key: string;
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_VALUE', message, options);
    this.key = key;
  }
}

/** A double barrier already has `count` participants: this one was not let in. */
export class BarrierFullError extends EtcdError {
  declare readonly code: 'BARRIER_FULL';
  readonly key: string;
  readonly count: number;
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
  constructor(message: string) {
    super('BARRIER_STATE', message);
  }
}
