import { type Bytes, InvalidArgumentError } from '@etcdkit/core';

/** A recipe's key: a non-empty string or bytes, checked at construction. */
export function checkKey(key: Bytes, what: string): Buffer {
  if (typeof key === 'string') {
    if (key.length === 0) throw new InvalidArgumentError(`${what} needs a non-empty key`);
    return Buffer.from(key);
  }
  if (key instanceof Uint8Array) {
    if (key.length === 0) throw new InvalidArgumentError(`${what} needs a non-empty key`);
    return Buffer.from(key);
  }
  throw new InvalidArgumentError(`${what} needs a key (a string or Uint8Array), got ${typeof key}`);
}

export function checkClient(etcd: unknown, what: string): void {
  if (etcd === null || typeof etcd !== 'object' || typeof (etcd as { txn?: unknown }).txn !== 'function')
    throw new InvalidArgumentError(`${what} needs an Etcd client: \`new Etcd({ endpoints })\``);
}
