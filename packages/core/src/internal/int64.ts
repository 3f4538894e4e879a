import { InvalidArgumentError } from '../errors.js';

/** The int64 range of etcd's wire fields. */
export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

export interface Int64Range {
  /** Smallest accepted value. Default INT64_MIN. */
  min?: bigint;
  /** Largest accepted value. Default INT64_MAX. */
  max?: bigint;
}

function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  return typeof value;
}

function rangeText(min: bigint, max: bigint): string {
  if (min === 0n && max === INT64_MAX) return 'a non-negative integer (0 to 2^63-1)';
  if (min === 1n && max === INT64_MAX) return 'a positive integer (1 to 2^63-1)';
  if (min === INT64_MIN && max === INT64_MAX) return 'an integer from -2^63 to 2^63-1';
  return `an integer from ${min} to ${max}`;
}

/**
 * Check an int64 a caller gave (a revision, lease id, version, limit, TTL) and return it as a
 * bigint. Accepted: a bigint, or a number that is a safe integer (a larger number has already
 * lost precision, so it is refused rather than rounded), within [min, max]. Anything else is an
 * InvalidArgumentError that names the argument and the accepted range, so a value never wraps
 * on the wire (2^64 would otherwise be encoded as 0).
 */
export function checkInt64(value: unknown, name: string, range: Int64Range = {}): bigint {
  const min = range.min ?? INT64_MIN;
  const max = range.max ?? INT64_MAX;
  const accepts = `${name} must be ${rangeText(min, max)} (a bigint, or a number up to 2^53-1)`;
  let v: bigint;
  if (typeof value === 'bigint') v = value;
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw new InvalidArgumentError(`${accepts}; got ${describeValue(value)}`);
    v = BigInt(value);
  } else throw new InvalidArgumentError(`${accepts}; got ${describeValue(value)}`);
  if (v < min)
    throw new InvalidArgumentError(
      `${accepts}; got ${describeValue(value)}${min === 0n ? ' (it must not be negative)' : ''}`,
    );
  if (v > max) throw new InvalidArgumentError(`${accepts}; got ${describeValue(value)}`);
  return v;
}

/** checkInt64 for a value that is not negative (revisions, lease ids, versions, limits). */
export function checkUint63(value: unknown, name: string): bigint {
  return checkInt64(value, name, { min: 0n });
}
