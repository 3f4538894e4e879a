import { RequestTooLargeError } from '../errors.js';
import type { WirePutRequest, WireTxnRequest } from './wire.js';

/**
 * How etcd measures a write: it wraps the request in an InternalRaftRequest (the put as field 4,
 * a txn as field 6) with a RequestHeader (field 100: a request ID, and with authentication the
 * user name and the auth store revision), encodes that, and refuses it when it is longer than
 * --max-request-bytes ("etcdserver: request is too large"). The gRPC server itself accepts
 * messages up to --max-request-bytes + 512 KiB, so for writes this check is the one that bites.
 *
 * The request ID is a uint64 whose top 16 bits come from the member ID: it takes 7 to 10 bytes.
 * It is counted at 10 here (and the auth revision at its largest), so the local check may refuse
 * a request a few bytes before etcd would, and never lets through one that etcd refuses.
 */
function varintLength(n: number | bigint): number {
  let v = BigInt(n);
  if (v < 0n) return 10;
  let len = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    len++;
  }
  return len;
}

/** A length-delimited field (field number < 16: one tag byte), omitted when empty as proto3 does. */
function bytesField(length: number): number {
  return length === 0 ? 0 : 1 + varintLength(length) + length;
}

function int64Field(v: string | undefined): number {
  return v === undefined || v === '0' ? 0 : 1 + varintLength(BigInt(v));
}

/** The RequestHeader field etcd adds: the ID at its largest; with auth, the user and the auth revision at its largest. */
function headerLength(username: string | undefined): number {
  let body = 1 + 10; // ID
  if (username !== undefined) body += bytesField(Buffer.byteLength(username)) + 1 + 10;
  return 2 + varintLength(body) + body; // tag of field 100 takes two bytes
}

/** The encoded length of a PutRequest, field by field. */
export function putRequestLength(r: WirePutRequest): number {
  return (
    bytesField(r.key.length) +
    bytesField(r.value.length) +
    int64Field(r.lease) +
    (r.prevKv ? 2 : 0) +
    (r.ignoreValue ? 2 : 0) +
    (r.ignoreLease ? 2 : 0)
  );
}

/** A bound on a txn's encoded length from its byte fields, without encoding it. */
function txnBound(r: WireTxnRequest): number {
  let bytes = 0;
  let items = 0;
  const buf = (b: Uint8Array | undefined) => {
    bytes += b?.length ?? 0;
  };
  const ops = (list: WireTxnRequest['success']) => {
    for (const o of list) {
      items++;
      if ('requestPut' in o) {
        buf(o.requestPut.key);
        buf(o.requestPut.value);
      } else if ('requestRange' in o) {
        buf(o.requestRange.key);
        buf(o.requestRange.rangeEnd);
      } else if ('requestDeleteRange' in o) {
        buf(o.requestDeleteRange.key);
        buf(o.requestDeleteRange.rangeEnd);
      } else {
        bytes += txnBound(o.requestTxn);
      }
    }
  };
  for (const c of r.compare) {
    items++;
    buf(c.key);
    buf(c.rangeEnd);
    buf(c.value);
  }
  ops(r.success);
  ops(r.failure);
  // No compare or op takes more than 128 bytes besides its keys and values (tags, lengths, int64s).
  return bytes + items * 128;
}

/**
 * How to encode a TxnRequest for its exact length. The gRPC transport sets it (it carries the
 * protobuf encoder); without it (the browser/edge build) the bound is used, which refuses a txn a
 * little earlier than etcd would, never later.
 */
let encodedTxnLength: ((r: WireTxnRequest) => number) | undefined;

export function setTxnEncoder(encode: (r: WireTxnRequest) => number): void {
  encodedTxnLength = encode;
}

/** The encoded length of a TxnRequest: encoded for real only when it may come near the limit. */
function txnRequestLength(r: WireTxnRequest, limit: number): number {
  const bound = txnBound(r);
  if (bound + 64 <= limit || !encodedTxnLength) return bound;
  return encodedTxnLength(r);
}

/** The size etcd compares with --max-request-bytes for this write. */
export function raftRequestSize(innerLength: number, username: string | undefined): number {
  return 1 + varintLength(innerLength) + innerLength + headerLength(username);
}

function refuse(what: string, size: number, limit: number): never {
  throw new RequestTooLargeError(
    `${what} takes ${size} bytes as etcd counts them, more than it accepts in one request (${limit}, ` +
      `--max-request-bytes; etcdkit's maxRequestBytes): store large values elsewhere, split the transaction, ` +
      `or raise both limits`,
    { size, limit },
  );
}

/** Refuse a put that etcd would refuse as too large, before sending it. */
export function checkPutSize(r: WirePutRequest, limit: number, username: string | undefined): void {
  const size = raftRequestSize(putRequestLength(r), username);
  if (size > limit) refuse('the put', size, limit);
}

/** Refuse a txn that etcd would refuse as too large, before sending it. */
export function checkTxnSize(r: WireTxnRequest, limit: number, username: string | undefined): void {
  const size = raftRequestSize(txnRequestLength(r, limit), username);
  if (size > limit) refuse('the transaction', size, limit);
}
