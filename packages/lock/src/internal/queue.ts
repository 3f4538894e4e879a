import { type Etcd, type KeyValue, type OpResponse, op } from '@etcdkit/core';

export function kvsOf(r: OpResponse | undefined): KeyValue[] {
  if (r?.type !== 'range')
    throw new Error(`expected a range response in the lock transaction, got ${r?.type}`);
  return r.kvs;
}

export function countOf(r: OpResponse | undefined): number {
  if (r?.type !== 'range')
    throw new Error(`expected a range response in the lock transaction, got ${r?.type}`);
  return r.count;
}

/** Thrown by the waits when the waiter's own key is gone; the caller turns it into its error. */
export class KeyGone extends Error {}

/**
 * The queue of etcd's concurrency.Mutex: wait until no key under `prefix` was created before
 * `rev` (the create revision of `key`). Each round reads, in one transaction, my own key (it
 * must still be mine) and the newest key created before mine, then watches only that key for
 * its deletion; it may have been another waiter that gave up, so the read is repeated. Each
 * waiter wakes only when the key right before it goes: no herd, first come first served.
 *
 * Resolves with the revision at which the turn was confirmed; throws KeyGone when my key was
 * deleted or replaced meanwhile.
 */
export async function waitForPredecessors(
  client: Etcd,
  key: string,
  rev: bigint,
  prefix: string,
  signal: AbortSignal,
): Promise<bigint> {
  const mine = op.get(key);
  const newestBefore = op.get({
    prefix,
    sort: { target: 'create', order: 'descend' },
    maxCreateRevision: rev - 1n,
    limit: 1,
    keysOnly: true,
  });
  for (;;) {
    const r = await client.txn().then(mine, newestBefore).commit({ signal });
    if (kvsOf(r.responses[0])[0]?.createRevision !== rev) throw new KeyGone();
    const before = kvsOf(r.responses[1])[0];
    if (!before) return r.revision;
    await client.waitForDelete(before.key, { startRevision: r.revision + 1n, signal });
  }
}
