import {
  type Bytes,
  compare,
  DeadlineExceededError,
  type Etcd,
  InvalidArgumentError,
  op,
  UnavailableError,
} from '@etcdkit/core';

/** Keys read per range when a queue looks for its next item. */
export const PAGE = 256;

/** A queue's prefix: a non-empty string, ending with '/' (added when missing). */
export function checkPrefix(prefix: unknown, what: string): string {
  if (typeof prefix !== 'string' || prefix.length === 0)
    throw new InvalidArgumentError(
      `${what} needs a non-empty key prefix (a string), got ${JSON.stringify(prefix)}`,
    );
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/** An item's value: a string or bytes (an empty one is fine). */
export function checkValue(value: unknown, what: string): asserts value is Bytes {
  if (typeof value !== 'string' && !(value instanceof Uint8Array))
    throw new InvalidArgumentError(`${what} needs a value (a string or Uint8Array), got ${typeof value}`);
}

/** A write whose answer was lost: it may have been applied. */
export function outcomeUnknown(err: unknown): boolean {
  return (err instanceof UnavailableError || err instanceof DeadlineExceededError) && err.outcomeUnknown;
}

/**
 * Put `value` under `base` + 64 random bits (hex), only if that key is new, and resolve with the
 * key. A clash is all but impossible, but an item must never overwrite another.
 */
export async function putNew(etcd: Etcd, base: string, value: Bytes): Promise<string> {
  for (;;) {
    const key = `${base}${Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex')}`;
    const r = await etcd
      .txn()
      .if(compare.createRevision(key, '==', 0))
      .then(op.put(key, value))
      .commit();
    if (r.succeeded) return key;
  }
}
