import {
  AbortError,
  AuthFailedError,
  CompactedError,
  DeadlineExceededError,
  EtcdError,
  FutureRevisionError,
  InvalidArgumentError,
  InvalidTokenError,
  InvalidTxnError,
  LeaseNotFoundError,
  PermissionDeniedError,
  RequestTooLargeError,
  ResourceExhaustedError,
  UnavailableError,
  UnknownEtcdError,
} from '../errors.js';
import { status } from './status.js';

/** What the failed call was, so the error can say so. */
export interface CallContext {
  method: string;
  endpoint?: string;
  /** The call may have been applied (a write that was sent). */
  sent?: boolean;
  idempotent?: boolean;
  key?: Buffer;
  leaseId?: bigint;
  /** The oldest revision the call reads at, when it reads at one (for CompactedError). */
  revision?: bigint;
  /** The call's time limit, ms. */
  timeoutMs?: number;
}

interface GrpcLikeError {
  code?: number;
  details?: string;
  message?: string;
}

function isGrpcError(e: unknown): e is GrpcLikeError & Error {
  return e instanceof Error && typeof (e as GrpcLikeError).code === 'number';
}

/** etcd's error texts carry an "etcdserver: " prefix; matching is done on what follows. */
function etcdText(e: GrpcLikeError): string {
  const text = e.details ?? e.message ?? '';
  return text.replace(/^etcdserver: /, '');
}

/** Whether a failed call can be sent again without risk (its outcome did not happen). */
export function isRejectedBeforeApply(err: unknown): boolean {
  return (
    err instanceof InvalidTokenError ||
    (err instanceof ResourceExhaustedError && err.reason === 'too-many-requests') ||
    (err instanceof UnavailableError && !err.outcomeUnknown)
  );
}

function tooManyRequests(ctx: CallContext, err: Error): ResourceExhaustedError {
  return new ResourceExhaustedError(
    `${ctx.method}: etcd has too many pending requests (refused before applying; etcdkit retries it with backoff): ` +
      'lower the request rate or give etcd faster disks',
    { cause: err, reason: 'too-many-requests' },
  );
}

/** Map one gRPC failure (or anything thrown around a call) into the EtcdError hierarchy. */
export function toEtcdError(err: unknown, ctx: CallContext): EtcdError {
  if (err instanceof EtcdError) return err;
  if (!isGrpcError(err)) {
    return new UnknownEtcdError(`${ctx.method} failed: ${String((err as Error)?.message ?? err)}`, {
      cause: err,
    });
  }
  const text = etcdText(err);
  const where = ctx.endpoint ? ` (${ctx.endpoint})` : '';
  const unknownOutcome = ctx.sent === true && ctx.idempotent === false;
  // etcd 3.4 sends "etcdserver: too many requests" with status UNKNOWN (later versions use
  // RESOURCE_EXHAUSTED), so it is recognised by its text whatever the status. etcd refuses it
  // before proposing the request, so it never was applied.
  if (text === 'too many requests') return tooManyRequests(ctx, err);
  switch (err.code) {
    case status.CANCELLED:
      return new AbortError(`${ctx.method} was cancelled${where}`, { cause: err });
    case status.DEADLINE_EXCEEDED:
      return new DeadlineExceededError(
        `${ctx.method} timed out${where}` +
          (unknownOutcome ? '; the write may or may not have been applied: read before retrying' : ''),
        {
          cause: err,
          outcomeUnknown: unknownOutcome,
          reason: 'call',
          operation: ctx.method,
          ...(ctx.timeoutMs !== undefined ? { timeoutMs: ctx.timeoutMs } : {}),
        },
      );
    case status.UNAVAILABLE: {
      // A write that went out on a live connection has an unknown outcome; one that never
      // reached a ready connection (or that etcd refused for lack of a leader) has none.
      const refused = /no leader|not capable|server stopped|unhealthy cluster|not supported for learner/.test(
        text,
      );
      const outcomeUnknown = unknownOutcome && !refused;
      return new UnavailableError(
        `${ctx.method} failed: etcd unavailable${where}: ${text}` +
          (outcomeUnknown ? '; the write may or may not have been applied: read before retrying' : ''),
        { cause: err, outcomeUnknown },
      );
    }
    case status.OUT_OF_RANGE:
      // etcd's text has no revision: refuse with a lower bound (etcd refuses exactly the
      // revisions below its compact revision); the connection then asks etcd for the real one.
      if (text.includes('compacted'))
        return new CompactedError((ctx.revision ?? 0n) + 1n, undefined, { cause: err, exact: false });
      if (text.includes('future revision')) return new FutureRevisionError(undefined, { cause: err });
      if (text.includes('lease TTL'))
        return new InvalidArgumentError(`lease TTL too large: ${text}`, { cause: err });
      break;
    case status.NOT_FOUND:
      if (text.includes('lease not found'))
        return new LeaseNotFoundError(ctx.leaseId, undefined, { cause: err });
      break;
    case status.RESOURCE_EXHAUSTED:
      if (text.includes('too many requests')) return tooManyRequests(ctx, err);
      if (text.includes('space exceeded'))
        return new ResourceExhaustedError(
          'etcd database space exceeded (NOSPACE alarm): compact, defragment and disarm the alarm',
          { cause: err, reason: 'no-space' },
        );
      // grpc's own size limit also lands here.
      return new RequestTooLargeError(`${ctx.method}: ${text}`, { cause: err });
    case status.UNAUTHENTICATED:
      return new InvalidTokenError(
        `${ctx.method}: ${text}; the client renews tokens, so check the credentials`,
        {
          cause: err,
        },
      );
    case status.PERMISSION_DENIED:
      return new PermissionDeniedError(
        `${ctx.method}: permission denied${ctx.key ? ` for key ${JSON.stringify(ctx.key.toString())}` : ''}; ` +
          'grant the user a role with access to it',
        { cause: err, ...(ctx.key ? { key: ctx.key } : {}) },
      );
    case status.INVALID_ARGUMENT:
      if (text.includes('authentication failed')) return new AuthFailedError(undefined, { cause: err });
      if (text.includes('user name is empty'))
        return new AuthFailedError(
          'this etcd has authentication enabled: pass auth: { username, password } to the client',
          { cause: err },
        );
      if (text.includes('request is too large')) return new RequestTooLargeError(undefined, { cause: err });
      if (text.includes('duplicate key'))
        return new InvalidTxnError(
          'a transaction writes the same key twice (or a put and a delete overlap); merge those operations',
          { cause: err, reason: 'duplicate-key' },
        );
      if (text.includes('too many operations'))
        return new InvalidTxnError(
          'a transaction has more operations than etcd allows (--max-txn-ops, 128 by default); split it',
          { cause: err, reason: 'too-many-ops' },
        );
      if (text.includes('invalid auth token') || text.includes('revision of auth store is old'))
        return new InvalidTokenError(undefined, { cause: err });
      return new InvalidArgumentError(`${ctx.method}: ${text}`, { cause: err });
    case status.FAILED_PRECONDITION:
      if (text.includes('authentication is not enabled'))
        return new AuthFailedError(
          'authentication is not enabled on this etcd; connect without credentials',
          {
            cause: err,
          },
        );
      break;
  }
  return new UnknownEtcdError(`${ctx.method} failed${where}: ${text || err.message}`, {
    cause: err,
    grpcCode: err.code,
  });
}
