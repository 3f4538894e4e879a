import { InvalidArgumentError, RequestTooLargeError } from './errors.js';
import { type Bytes, toBuffer } from './internal/bytes.js';
import type { Keyspace } from './internal/keyspace.js';
import type {
  WireCompare,
  WireDeleteRangeRequest,
  WirePutRequest,
  WireRequestOp,
  WireResponseOp,
  WireTxnRequest,
  WireTxnResponse,
} from './internal/wire.js';
import {
  type DeleteOptions,
  type DeleteTarget,
  type KeyValue,
  type PutOptions,
  type RangeOptions,
  type Revision,
  revisionString,
  toKeyValue,
  toRangeRequest,
} from './kv.js';

/** What a call needs to put keys on the wire: the namespace and the size limit. */
export interface WireContext {
  ks: Keyspace;
  maxRequestBytes: number;
}

/**
 * How a {@link compare} guard compares the key's field with the operand: equal, not equal, less,
 * greater.
 */
export type CompareOp = '==' | '!=' | '<' | '>';

const RESULTS = { '==': 'EQUAL', '!=': 'NOT_EQUAL', '<': 'LESS', '>': 'GREATER' } as const;

/** A guard of a transaction. Build with `compare.*`. */
export interface Compare {
  /** Tells a guard from an operation at run time (`if()` accepts only guards). */
  readonly kind: 'compare';
  /** @internal */
  toWire(ctx: WireContext): WireCompare;
}

/** One operation of a transaction branch. Build with `op.*`. */
export interface Op {
  /** Tells an operation from a guard at run time (`then()`/`else()` accept only operations). */
  readonly kind: 'op';
  /** True when the operation only reads (a transaction of reads is safe to retry). */
  readonly readOnly: boolean;
  /** @internal */
  toWire(ctx: WireContext): WireRequestOp;
}

function result(operator: CompareOp): WireCompare['result'] {
  const r = RESULTS[operator];
  if (!r)
    throw new InvalidArgumentError(
      `compare operator must be one of == != < >, got ${JSON.stringify(operator)}`,
    );
  return r;
}

function int64(v: Revision | bigint, what: string): string {
  return revisionString(v, what)!;
}

function makeCompare(
  key: Bytes,
  operator: CompareOp,
  target: WireCompare['target'],
  operand: (c: WireCompare) => void,
): Compare {
  const res = result(operator);
  return {
    kind: 'compare',
    toWire(ctx) {
      const c: WireCompare = { result: res, target, key: ctx.ks.key(key) };
      operand(c);
      return c;
    },
  };
}

/** Transaction guards. `compare.createRevision(key, '==', 0)` means "key does not exist". */
export const compare = {
  /**
   * The key's value compared with `value` (bytes, lexicographically). False when the key does not
   * exist.
   */
  value: (key: Bytes, operator: CompareOp, value: Bytes): Compare => {
    const v = toBuffer(value);
    return makeCompare(key, operator, 'VALUE', (c) => {
      c.value = v;
    });
  },
  /**
   * The key's version (number of writes since it was created; 0 when it does not exist) compared
   * with `version`.
   */
  version: (key: Bytes, operator: CompareOp, version: Revision): Compare => {
    const v = int64(version, 'version');
    return makeCompare(key, operator, 'VERSION', (c) => {
      c.version = v;
    });
  },
  /** The revision that created the key (0 when it does not exist) compared with `revision`. */
  createRevision: (key: Bytes, operator: CompareOp, revision: Revision): Compare => {
    const v = int64(revision, 'createRevision');
    return makeCompare(key, operator, 'CREATE', (c) => {
      c.createRevision = v;
    });
  },
  /** The revision of the key's last write (0 when it does not exist) compared with `revision`. */
  modRevision: (key: Bytes, operator: CompareOp, revision: Revision): Compare => {
    const v = int64(revision, 'modRevision');
    return makeCompare(key, operator, 'MOD', (c) => {
      c.modRevision = v;
    });
  },
  /** The ID of the lease the key is attached to (0 when none) compared with `leaseId`. */
  lease: (key: Bytes, operator: CompareOp, leaseId: bigint | number): Compare => {
    const v = int64(leaseId, 'lease');
    return makeCompare(key, operator, 'LEASE', (c) => {
      c.lease = v;
    });
  },
};

export function putRequest(
  key: Bytes,
  value: Bytes,
  o: PutOptions | undefined,
  ctx: WireContext,
): WirePutRequest {
  const k = ctx.ks.key(key);
  if (value === undefined || value === null)
    throw new InvalidArgumentError('put needs a value (use "" for an empty one)');
  const v = toBuffer(value);
  // Refused early, before the bytes of a huge value are copied around; the exact check of the
  // whole request is done where it is sent (internal/request-size.ts).
  if (k.length + v.length > ctx.maxRequestBytes)
    throw new RequestTooLargeError(
      `key and value take ${k.length + v.length} bytes, more than etcd accepts in one request ` +
        `(${ctx.maxRequestBytes}, --max-request-bytes; etcdkit's maxRequestBytes): store large values elsewhere, or raise both limits`,
      { size: k.length + v.length, limit: ctx.maxRequestBytes },
    );
  const req: WirePutRequest = { key: k, value: v };
  if (o?.lease !== undefined && o.lease !== 0n) req.lease = int64(o.lease, 'lease');
  if (o?.prevKv) req.prevKv = true;
  if (o?.ignoreValue) req.ignoreValue = true;
  if (o?.ignoreLease) req.ignoreLease = true;
  return req;
}

export function deleteRequest(
  target: DeleteTarget,
  o: DeleteOptions | undefined,
  ctx: WireContext,
): WireDeleteRangeRequest {
  const sel = typeof target === 'string' || target instanceof Uint8Array ? { key: target } : target;
  if (sel === null || typeof sel !== 'object')
    throw new InvalidArgumentError('delete needs a key or { prefix | key, end | fromKey }');
  const req: WireDeleteRangeRequest = { ...ctx.ks.range(sel) };
  if (o?.prevKv) req.prevKv = true;
  return req;
}

/** A whole transaction as data, for {@link op}.txn (a nested transaction). */
export interface TxnBranches {
  /** Guards that must all hold for `then` to run. */
  if?: Compare[];
  /** Operations run when every guard holds. */
  then?: Op[];
  /** Operations run when a guard fails. */
  else?: Op[];
}

/** Transaction operations. */
export const op = {
  /** Write `value` under `key` (the same options as {@link Etcd.put}). */
  put: (key: Bytes, value: Bytes, options?: PutOptions): Op => ({
    kind: 'op',
    readOnly: false,
    toWire: (ctx) => ({ requestPut: putRequest(key, value, options, ctx) }),
  }),
  /** Read one key, or a range with {@link RangeOptions}; the result is a `range` {@link OpResponse}. */
  get: (target: Bytes | RangeOptions): Op => ({
    kind: 'op',
    readOnly: true,
    toWire: (ctx) => ({
      requestRange: toRangeRequest(
        typeof target === 'string' || target instanceof Uint8Array ? { key: target } : target,
        ctx.ks,
      ),
    }),
  }),
  /** Delete one key or a range (the same target as {@link Etcd.delete}). */
  delete: (target: DeleteTarget, options?: DeleteOptions): Op => ({
    kind: 'op',
    readOnly: false,
    toWire: (ctx) => ({ requestDeleteRange: deleteRequest(target, options, ctx) }),
  }),
  /** A nested transaction: its own guards and branches, run inside this one. */
  txn: (branches: TxnBranches): Op => ({
    kind: 'op',
    readOnly: [...(branches.then ?? []), ...(branches.else ?? [])].every((o) => o.readOnly),
    toWire: (ctx) => ({ requestTxn: txnRequest(branches, ctx) }),
  }),
};

function check<T extends { kind: string }>(items: T[], kind: T['kind'], where: string): T[] {
  for (const it of items)
    if (!it || it.kind !== kind)
      throw new InvalidArgumentError(`${where} takes values made by ${kind === 'op' ? 'op.*' : 'compare.*'}`);
  return items;
}

export function txnRequest(b: TxnBranches, ctx: WireContext): WireTxnRequest {
  return {
    compare: check(b.if ?? [], 'compare', 'txn().if()').map((c) => c.toWire(ctx)),
    success: check(b.then ?? [], 'op', 'txn().then()').map((o) => o.toWire(ctx)),
    failure: check(b.else ?? [], 'op', 'txn().else()').map((o) => o.toWire(ctx)),
  };
}

/**
 * The result of one operation of a transaction branch, tagged by `type`: what {@link Etcd.range},
 * {@link Etcd.put}, {@link Etcd.delete} or a nested transaction would return (without the revision,
 * which is the transaction's).
 */
export type OpResponse =
  | {
      /** The response of an {@link op}.get. */
      type: 'range';
      /** The keys read. */
      kvs: KeyValue[];
      /** More keys matched than `limit` allowed. */
      more: boolean;
      /** Number of keys in the whole range. */
      count: number;
    }
  | {
      /** The response of an {@link op}.put. */
      type: 'put';
      /** The key before the write, when `prevKv` was set and the key existed. */
      prevKv?: KeyValue;
    }
  | {
      /** The response of an {@link op}.delete. */
      type: 'delete';
      /** Number of keys deleted. */
      deleted: number;
      /** The deleted keys, when `prevKv` was set. */
      prevKvs: KeyValue[];
    }
  | {
      /** The response of an {@link op}.txn. */
      type: 'txn';
      /** Whether the nested transaction's guards held. */
      succeeded: boolean;
      /** One response per operation of the nested branch that ran. */
      responses: OpResponse[];
    };

/** What {@link Txn.commit} resolves with. */
export interface TxnResult {
  /** Whether every compare held (the `then` branch ran). */
  succeeded: boolean;
  /** One response per operation of the branch that ran, in order. */
  responses: OpResponse[];
  /** The store's revision after the transaction (unchanged when it only read). */
  revision: bigint;
}

export function toOpResponse(r: WireResponseOp, ks: Keyspace): OpResponse {
  switch (r.response) {
    case 'responseRange': {
      const x = r.responseRange!;
      return {
        type: 'range',
        kvs: x.kvs.map((kv) => toKeyValue(kv, ks)),
        more: x.more,
        count: Number(x.count),
      };
    }
    case 'responsePut': {
      const x = r.responsePut!;
      return x.prevKv ? { type: 'put', prevKv: toKeyValue(x.prevKv, ks) } : { type: 'put' };
    }
    case 'responseDeleteRange': {
      const x = r.responseDeleteRange!;
      return {
        type: 'delete',
        deleted: Number(x.deleted),
        prevKvs: x.prevKvs.map((kv) => toKeyValue(kv, ks)),
      };
    }
    case 'responseTxn': {
      const x = r.responseTxn!;
      return { type: 'txn', succeeded: x.succeeded, responses: x.responses.map((y) => toOpResponse(y, ks)) };
    }
  }
}

export function toTxnResult(r: WireTxnResponse, ks: Keyspace): TxnResult {
  return {
    succeeded: r.succeeded,
    responses: r.responses.map((x) => toOpResponse(x, ks)),
    revision: BigInt(r.header.revision),
  };
}

/** A transaction being built: `etcd.txn().if(...).then(...).else(...).commit()`. */
export class Txn {
  private readonly compares: Compare[] = [];
  private readonly success: Op[] = [];
  private readonly failure: Op[] = [];
  private readonly run: (
    branches: TxnBranches,
    readOnly: boolean,
    o?: { signal?: AbortSignal; timeoutMs?: number },
  ) => Promise<TxnResult>;

  /** Made by {@link Etcd.txn}, which binds it to the client; not meant to be called directly. */
  constructor(run: Txn['run']) {
    this.run = run;
  }

  /**
   * Add guards; every one must hold for the `then` branch to run. Several calls add up; no guard at
   * all means the transaction always succeeds.
   *
   * @returns this transaction, to chain.
   * @throws {@link InvalidArgumentError} when an argument was not made by {@link compare}.
   */
  if(...compares: Compare[]): this {
    this.compares.push(...check(compares, 'compare', 'txn().if()'));
    return this;
  }

  /**
   * Add operations to run, in order, when every guard holds.
   *
   * @returns this transaction, to chain.
   * @throws {@link InvalidArgumentError} when an argument was not made by {@link op}.
   */
  then(...ops: Op[]): this {
    this.success.push(...check(ops, 'op', 'txn().then()'));
    return this;
  }

  /**
   * Add operations to run, in order, when a guard fails.
   *
   * @returns this transaction, to chain.
   * @throws {@link InvalidArgumentError} when an argument was not made by {@link op}.
   */
  else(...ops: Op[]): this {
    this.failure.push(...check(ops, 'op', 'txn().else()'));
    return this;
  }

  /**
   * Send the transaction: etcd checks the guards and runs one branch, atomically, at one revision.
   *
   * @returns whether the guards held (`succeeded`), one response per operation of the branch that
   * ran, and the revision.
   * @throws {@link InvalidTxnError} when etcd refuses the transaction (a key written twice, too
   * many operations); {@link RequestTooLargeError} beyond `maxRequestBytes`. A transaction that
   * writes is not retried once sent: a {@link DeadlineExceededError} or {@link UnavailableError}
   * with `outcomeUnknown` means it may have been applied. A read-only one is retried.
   * @example
   * ```ts
   * const { succeeded } = await etcd
   *   .txn()
   *   .if(compare.modRevision('config/v', '==', seen.modRevision))
   *   .then(op.put('config/v', next))
   *   .else(op.get('config/v'))
   *   .commit();
   * ```
   */
  commit(options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<TxnResult> {
    const readOnly = [...this.success, ...this.failure].every((o) => o.readOnly);
    return this.run({ if: this.compares, then: this.success, else: this.failure }, readOnly, options);
  }
}
