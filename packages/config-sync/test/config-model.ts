import type { Etcd } from '@etcdkit/core';
import type { Change, ConfigSnapshot } from '../src/index.js';

/** The prefix as etcd holds it at `revision`, keys relative to the prefix, values as text. */
export async function rangeAt(etcd: Etcd, prefix: string, revision?: bigint): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const kv of etcd.scan({ prefix, pageSize: 5000, ...(revision ? { revision } : {}) }))
    out.set(kv.key.toString().slice(prefix.length), kv.value.toString());
  return out;
}

export function asMap<T>(s: ConfigSnapshot<T>): Map<string, T> {
  return new Map(s);
}

/**
 * Applies changes to a model, checking each one against it: a put's `prev` is the value the
 * model holds, a delete removes a present key with that value, and revisions never go back.
 * A gap or a duplicate shows up as a mismatch.
 */
export class ChangeModel<T> {
  readonly map: Map<string, T>;
  revision: bigint;
  applied = 0;
  constructor(initial: Iterable<[string, T]>, revision: bigint) {
    this.map = new Map(initial);
    this.revision = revision;
  }
  apply(c: Change<T>): void {
    if (c.revision < this.revision) throw new Error(`change at ${c.revision} after ${this.revision}`);
    this.revision = c.revision;
    const had = this.map.get(c.key);
    if (c.type === 'put') {
      if (had !== c.prev)
        throw new Error(`put ${c.key}@${c.revision}: prev ${String(c.prev)}, model has ${String(had)}`);
      this.map.set(c.key, c.value);
    } else {
      if (!this.map.has(c.key) || had !== c.prev)
        throw new Error(`delete ${c.key}@${c.revision}: prev ${String(c.prev)}, model has ${String(had)}`);
      this.map.delete(c.key);
    }
    this.applied++;
  }
}
