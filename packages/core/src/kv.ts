import { InvalidArgumentError } from './errors.js';
import type { Bytes } from './internal/bytes.js';
import { checkUint63 } from './internal/int64.js';
import type { KeySelector, Keyspace } from './internal/keyspace.js';
import type { WireKeyValue, WireRangeRequest } from './internal/wire.js';

/** One key as etcd stores it. `key` is relative to the client's namespace. */
export interface KeyValue {
  /** The key, relative to the client's namespace. */
  key: Buffer;
  /** The value (empty with `keysOnly`). */
  value: Buffer;
  /** Revision of the key's creation; 0n never occurs on a live key. */
  createRevision: bigint;
  /** Revision of the key's last write. */
  modRevision: bigint;
  /** Number of writes since creation (1 after the first put). */
  version: bigint;
  /** Lease ID the key is attached to, 0n when none. */
  lease: bigint;
}

/**
 * A revision (or other int64) as a caller may pass it: a bigint, or a safe integer number. Results
 * always carry bigints.
 */
export type Revision = bigint | number;

/** The field {@link RangeOptions.sort} orders by: key, version, create or mod revision, value. */
export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';
/** Sort direction of {@link RangeOptions.sort}; `none` leaves etcd's order (ascending by key). */
export type SortOrder = 'none' | 'ascend' | 'descend';

export interface RangeOptions extends KeySelector {
  /** Most keys to return; 0 or absent = no limit. */
  limit?: number;
  /** Read at this revision (0/absent = latest). */
  revision?: Revision;
  /**
   * Order of the result. Default: ascending by key. Note that any explicit order makes etcd read
   * the whole range before applying `limit`.
   */
  sort?: {
    /** The field to sort by. Default `key`. */
    target?: SortTarget;
    /** Default `ascend`. */
    order?: SortOrder;
  };
  /** Return keys without their values (`value` is an empty Buffer). */
  keysOnly?: boolean;
  /** Return only `count`; `kvs` is empty. */
  countOnly?: boolean;
  /** Answer from the local member without a quorum round trip (may be stale). */
  serializable?: boolean;
  /** Only keys last written at or after this revision. */
  minModRevision?: Revision;
  /** Only keys last written at or before this revision. */
  maxModRevision?: Revision;
  /** Only keys created at or after this revision. */
  minCreateRevision?: Revision;
  /** Only keys created at or before this revision. */
  maxCreateRevision?: Revision;
}

/** What {@link Etcd.range} resolves with. */
export interface RangeResult {
  /** The keys read, in the requested order (by key, ascending, by default). */
  kvs: KeyValue[];
  /** More keys matched than `limit` allowed. */
  more: boolean;
  /** Number of keys in the whole range (not only those returned). */
  count: number;
  /** The store's revision the read was served at. */
  revision: bigint;
}

/** Options of {@link Etcd.put} and {@link op}.put. */
export interface PutOptions {
  /**
   * Attach the key to this lease ID: it is deleted when the lease expires or is revoked. 0n or
   * absent: no lease.
   */
  lease?: bigint;
  /** Return the key as it was before this write in `prevKv`. */
  prevKv?: boolean;
  /** Keep the current value, change only the lease (value must be empty). */
  ignoreValue?: boolean;
  /** Keep the current lease. */
  ignoreLease?: boolean;
}

/** What {@link Etcd.put} resolves with. */
export interface PutResult {
  /** The store's revision after the write (the key's new `modRevision`). */
  revision: bigint;
  /** The key before the write, when `prevKv` was asked for and the key existed. */
  prevKv?: KeyValue;
}

/** Options of {@link Etcd.delete} and {@link op}.delete. */
export interface DeleteOptions {
  /** Return the deleted keys with their values in `prevKvs`. */
  prevKv?: boolean;
}

/** What {@link Etcd.delete} resolves with. */
export interface DeleteResult {
  /** Number of keys deleted (0 when none matched). */
  deleted: number;
  /** The deleted keys as they were, when `prevKv` was asked for; otherwise empty. */
  prevKvs: KeyValue[];
  /** The store's revision after the delete (unchanged when nothing was deleted). */
  revision: bigint;
}

/** What {@link Etcd.delete} deletes: one key, or a range given as a {@link KeySelector}. */
export type DeleteTarget = Bytes | KeySelector;

export function toKeyValue(kv: WireKeyValue, ks: Keyspace): KeyValue {
  return {
    key: ks.strip(kv.key),
    value: kv.value,
    createRevision: BigInt(kv.createRevision),
    modRevision: BigInt(kv.modRevision),
    version: BigInt(kv.version),
    lease: BigInt(kv.lease),
  };
}

/** A caller's int64 (revision, version, lease id) checked (>= 0, within int64) and put in wire form. */
export function revisionString(rev: Revision | undefined, what = 'revision'): string | undefined {
  if (rev === undefined) return undefined;
  return checkUint63(rev, what).toString();
}

const SORT_TARGETS = {
  key: 'KEY',
  version: 'VERSION',
  create: 'CREATE',
  mod: 'MOD',
  value: 'VALUE',
} as const;
const SORT_ORDERS = { none: 'NONE', ascend: 'ASCEND', descend: 'DESCEND' } as const;

export function toRangeRequest(o: RangeOptions, ks: Keyspace): WireRangeRequest {
  const limit = o.limit === undefined ? 0n : checkUint63(o.limit, 'limit');
  const req: WireRangeRequest = { ...ks.range(o) };
  if (limit) req.limit = limit.toString();
  const rev = revisionString(o.revision);
  if (rev) req.revision = rev;
  if (o.sort) {
    const target = SORT_TARGETS[o.sort.target ?? 'key'];
    const order = SORT_ORDERS[o.sort.order ?? 'ascend'];
    if (!target)
      throw new InvalidArgumentError(`sort.target must be one of ${Object.keys(SORT_TARGETS).join(', ')}`);
    if (!order)
      throw new InvalidArgumentError(`sort.order must be one of ${Object.keys(SORT_ORDERS).join(', ')}`);
    req.sortTarget = target;
    req.sortOrder = order;
  }
  if (o.keysOnly) req.keysOnly = true;
  if (o.countOnly) req.countOnly = true;
  if (o.serializable) req.serializable = true;
  const minMod = revisionString(o.minModRevision, 'minModRevision');
  if (minMod) req.minModRevision = minMod;
  const maxMod = revisionString(o.maxModRevision, 'maxModRevision');
  if (maxMod) req.maxModRevision = maxMod;
  const minCreate = revisionString(o.minCreateRevision, 'minCreateRevision');
  if (minCreate) req.minCreateRevision = minCreate;
  const maxCreate = revisionString(o.maxCreateRevision, 'maxCreateRevision');
  if (maxCreate) req.maxCreateRevision = maxCreate;
  return req;
}
