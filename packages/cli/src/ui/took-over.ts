import { CompactedError, type Etcd } from '@etcdkit/core';

/** When a queue key became its queue's oldest: the revision, and whether it is only a lower bound. */
export interface TookOver {
  revision: bigint;
  /** Revisions before it were compacted: it may have held since earlier. */
  lowerBound: boolean;
}

/**
 * The revision at which `key` (created at `createRevision`) became the oldest key under `queue`,
 * i.e. took the lock or became leader. Keys that join later are younger, so once it is the
 * oldest it stays so while it exists: a binary search over the revisions since its creation,
 * one small read each, finds the first revision where it is. Resolves undefined when `key` is
 * not the oldest now.
 */
export async function tookOver(
  etcd: Etcd,
  queue: string,
  key: string,
  createRevision: bigint,
): Promise<TookOver | undefined> {
  const firstAt = async (revision?: bigint) => {
    const r = await etcd.range({
      prefix: queue,
      ...(revision === undefined ? {} : { revision }),
      sort: { target: 'create', order: 'ascend' },
      limit: 1,
      keysOnly: true,
    });
    return {
      first: r.kvs[0]?.key.toString() === key && r.kvs[0].createRevision === createRevision,
      at: r.revision,
    };
  };
  const now = await firstAt();
  if (!now.first) return undefined;
  let lo = createRevision;
  let hi = now.at;
  let unreadableBelow = 0n;
  while (lo < hi) {
    const mid = lo + (hi - lo) / 2n;
    try {
      if ((await firstAt(mid)).first) hi = mid;
      else lo = mid + 1n;
    } catch (err) {
      if (!(err instanceof CompactedError)) throw err;
      lo = mid + 1n;
      if (mid + 1n > unreadableBelow) unreadableBelow = mid + 1n;
    }
  }
  return { revision: hi, lowerBound: unreadableBelow !== 0n && hi === unreadableBelow };
}
