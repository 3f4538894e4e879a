import { InvalidArgumentError } from '@etcdkit/core';

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

/** `n` as a bigint, checked at the API edge: a safe integer or an int64 bigint. */
export function toInt64(n: unknown, what: string): bigint {
  if (typeof n === 'number') {
    if (!Number.isSafeInteger(n))
      throw new InvalidArgumentError(
        `${what} must be a safe integer (or a bigint for larger values), got ${String(n)}`,
      );
    return BigInt(n);
  }
  if (typeof n === 'bigint') {
    if (n < INT64_MIN || n > INT64_MAX)
      throw new InvalidArgumentError(`${what} must fit in int64 (${INT64_MIN} to ${INT64_MAX}), got ${n}`);
    return n;
  }
  throw new InvalidArgumentError(`${what} must be a bigint or a safe integer, got ${typeof n}`);
}
