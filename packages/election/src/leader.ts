import type { CallOptions, Etcd, KeyValue, Revision } from '@etcdkit/core';

/** The current leader of an election: the candidate key with the lowest create revision. */
export interface Leader {
  /** `<name>/<lease id in hex>`, relative to the client's namespace. */
  key: Buffer;
  /** The leader's proposal (its last proclaimed value). */
  value: Buffer;
  /** Revision at which the leader's key was created: increases with every new leadership. */
  createRevision: bigint;
  /** Revision of the last proclaim (or of the campaign). */
  modRevision: bigint;
  /** The leader's session lease. */
  lease: bigint;
}

export function toLeader(kv: KeyValue | undefined): Leader | undefined {
  if (!kv) return undefined;
  return {
    key: kv.key,
    value: kv.value,
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    lease: kv.lease,
  };
}

/** Same leadership state: same key at the same modification (a proclaim changes it). */
export function sameLeader(a: Leader | undefined, b: Leader | undefined): boolean {
  if (!a || !b) return a === b;
  return a.modRevision === b.modRevision && a.key.equals(b.key);
}

/** Read the first-created key under `prefix`, optionally at a past revision. */
export async function readLeader(
  client: Etcd,
  prefix: Buffer,
  options: CallOptions & { revision?: Revision } = {},
): Promise<{ leader: Leader | undefined; revision: bigint }> {
  const r = await client.range({
    prefix,
    sort: { target: 'create', order: 'ascend' },
    limit: 1,
    ...options,
  });
  return { leader: toLeader(r.kvs[0]), revision: r.revision };
}
