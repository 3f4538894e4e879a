import { InvalidArgumentError } from '../errors.js';

/** A key or value as callers give it. */
export type Bytes = string | Uint8Array;

/** range_end of a single NUL byte: "every key from `key` on". */
export const FROM_KEY_END = Buffer.from([0]);

/** `value` as a Buffer (no copy for a Uint8Array); `what` names it in the error for anything else. */
export function toBuffer(value: Bytes, what = 'value'): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new InvalidArgumentError(`${what} must be a string or Uint8Array, got ${describe(value)}`);
}

export function toKey(key: Bytes, what = 'key'): Buffer {
  const buf = toBuffer(key);
  if (buf.length === 0) throw new InvalidArgumentError(`${what} must not be empty`);
  return buf;
}

/** The smallest key greater than every key that starts with `prefix` (etcd's prefix range_end). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  // All 0xff (or empty): no upper bound; range to the end of the keyspace.
  return FROM_KEY_END;
}

export function concat(a: Buffer, b: Buffer): Buffer {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return Buffer.concat([a, b]);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Whether `b` is valid UTF-8 (node:buffer's isUtf8, without Node built-ins: browsers run this too). */
export function isUtf8(b: Uint8Array): boolean {
  try {
    strictUtf8.decode(b);
    return true;
  } catch {
    return false;
  }
}
