import { type Bytes, InvalidArgumentError } from '@etcdkit/core';
import { toBuffer } from '@etcdkit/core/internal';

export { toBuffer };

/**
 * The key prefix of an election: `<name>/`, as etcd's Go concurrency package and
 * `etcdctl elect` spell it.
 */
export function electionPrefix(name: Bytes): Buffer {
  const n = toBuffer(name, 'election name');
  if (n.length === 0) throw new InvalidArgumentError('election name must not be empty');
  return Buffer.concat([n, Buffer.from('/')]);
}

/** A candidate's key: the prefix and the session's lease ID in lowercase hex. */
export function candidateKey(prefix: Buffer, lease: bigint): Buffer {
  return Buffer.concat([prefix, Buffer.from(lease.toString(16))]);
}
