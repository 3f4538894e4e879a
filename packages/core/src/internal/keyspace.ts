import { InvalidArgumentError } from '../errors.js';
import { type Bytes, concat, FROM_KEY_END, prefixEnd, toBuffer, toKey } from './bytes.js';

/** How a call selects keys: one key, a prefix, [key, end), or every key from `key` on. */
export interface KeySelector {
  /** One key; or, with `end` or `fromKey`, the start of a range (inclusive). */
  key?: Bytes;
  /** Every key that starts with these bytes (relative to the client's namespace). */
  prefix?: Bytes;
  /** Exclusive end of the range [key, end). */
  end?: Bytes;
  /** Every key greater than or equal to `key`. */
  fromKey?: boolean;
}

/**
 * The keys of a client or of one of its namespaces: prefixes what goes out, strips what comes back.
 * A namespace never reads or writes outside its prefix.
 */
export class Keyspace {
  readonly prefix: Buffer;
  constructor(prefix: Buffer) {
    this.prefix = prefix;
  }

  child(prefix: Bytes): Keyspace {
    return new Keyspace(concat(this.prefix, toBuffer(prefix)));
  }

  key(key: Bytes, what = 'key'): Buffer {
    return concat(this.prefix, toKey(key, what));
  }

  /** The wire key and range_end of a selector. */
  range(sel: KeySelector): { key: Buffer; rangeEnd?: Buffer } {
    const set = [sel.key !== undefined, sel.prefix !== undefined].filter(Boolean).length;
    if (set !== 1) throw new InvalidArgumentError('select keys with exactly one of `key` or `prefix`');
    if (sel.prefix !== undefined) {
      if (sel.end !== undefined || sel.fromKey)
        throw new InvalidArgumentError('`prefix` cannot be combined with `end` or `fromKey`');
      const p = concat(this.prefix, toBuffer(sel.prefix));
      // An empty prefix at the root means every key: etcd spells that as key \0, range_end \0.
      if (p.length === 0) return { key: FROM_KEY_END, rangeEnd: FROM_KEY_END };
      return { key: p, rangeEnd: prefixEnd(p) };
    }
    if (sel.end !== undefined && sel.fromKey)
      throw new InvalidArgumentError('use either `end` or `fromKey`, not both');
    const rawKey = toBuffer(sel.key!);
    if (rawKey.length === 0 && !sel.fromKey && sel.end === undefined)
      throw new InvalidArgumentError('key must not be empty');
    const key = rawKey.length === 0 && this.prefix.length === 0 ? FROM_KEY_END : concat(this.prefix, rawKey);
    if (sel.fromKey) return { key, rangeEnd: this.prefix.length ? prefixEnd(this.prefix) : FROM_KEY_END };
    if (sel.end !== undefined) {
      const end = toBuffer(sel.end);
      // An empty end inside a namespace means "to the end of the namespace".
      if (end.length === 0)
        return { key, rangeEnd: this.prefix.length ? prefixEnd(this.prefix) : FROM_KEY_END };
      return { key, rangeEnd: concat(this.prefix, end) };
    }
    return { key };
  }

  strip(key: Buffer): Buffer {
    return this.prefix.length ? key.subarray(this.prefix.length) : key;
  }
}
