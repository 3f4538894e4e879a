/**
 * Every error etcdkit throws is an EtcdError. Each class says what happened; its message says
 * what to do. gRPC statuses and etcd's error strings are mapped in internal/error-map.ts.
 *
 * The contract: one class per `code`; `code` is a readonly string literal, and the union of every
 * code of every etcdkit package is `EtcdErrorCode`. Sub-cases of one class go in a `reason`
 * field (ResourceExhaustedError.reason, InvalidTxnError.reason, DeadlineExceededError.reason).
 *
 * Typing: the base declares `readonly code: EtcdErrorCode`; each class narrows it with
 * `declare readonly code: '...'` (no runtime field, the base constructor sets it). A class that
 * has subclasses with codes of their own (UnavailableError, whose subclass is DialTimeoutError)
 * declares the union of its own and its subclasses' codes; the subclass sets its code with a
 * field initializer, which runs after the base constructor. So `instanceof` keeps working along
 * the hierarchy and a `switch (err.code)` on an EtcdError narrows to the right class's fields.
 */

/** Every code, of every etcdkit package, at run time (the type `EtcdErrorCode` is derived from it). */
export const ETCD_ERROR_CODES = [
  // @etcdkit/core
  'UNAVAILABLE',
  'DIAL_TIMEOUT',
  'CLOSED',
  'DEADLINE_EXCEEDED',
  'ABORTED',
  'COMPACTED',
  'FUTURE_REVISION',
  'LEASE_NOT_FOUND',
  'LEASE_EXPIRED',
  'SESSION_EXPIRED',
  'AUTH_FAILED',
  'INVALID_TOKEN',
  'PERMISSION_DENIED',
  'REQUEST_TOO_LARGE',
  'RESOURCE_EXHAUSTED',
  'INVALID_TXN',
  'INVALID_ARGUMENT',
  'WATCH_CANCELED',
  'UNKNOWN',
  'STM_CONFLICT',
  // @etcdkit/lock
  'LOCK_RELEASED',
  'LOCK_HELD',
  'LOCK_NOT_HELD',
  // @etcdkit/election
  'NOT_LEADER',
  'CAMPAIGN_IN_PROGRESS',
  // @etcdkit/config-sync
  'LAST_KNOWN_GOOD',
  'CHANGES_OVERFLOW',
  'SUBSCRIBER_FAILED',
  // @etcdkit/recipes
  'INVALID_VALUE',
  'BARRIER_FULL',
  'BARRIER_STATE',
  'CLAIM_LOST',
  // @etcdkit/discovery
  'REGISTRATION_CLOSED',
  // @etcdkit/cli
  'USAGE',
  'CLI',
] as const;

/** The `code` of every EtcdError, of every etcdkit package. */
export type EtcdErrorCode = (typeof ETCD_ERROR_CODES)[number];

/**
 * The base of every error etcdkit throws, in every package. Test with `instanceof` for a class, or
 * compare `code` (stable across versions, and usable across package copies). The message says what
 * happened and what to do; `cause` carries the underlying error when there is one.
 *
 * @example
 * ```ts
 * try {
 *   await etcd.put('k', 'v');
 * } catch (err) {
 *   if (err instanceof EtcdError && err.code === 'UNAVAILABLE') retryLater();
 *   else throw err;
 * }
 * ```
 */
export class EtcdError extends Error {
  /** A stable, machine-readable code, e.g. 'UNAVAILABLE' or 'COMPACTED'; one per class. */
  readonly code: EtcdErrorCode;
  /** For subclasses: each passes its own `code`. `options.cause` is kept as the standard `cause`. */
  constructor(code: EtcdErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** No endpoint could serve the request (down, unreachable, no leader). Safe calls were already retried. */
export class UnavailableError extends EtcdError {
  declare readonly code: 'UNAVAILABLE' | 'DIAL_TIMEOUT';
  /**
   * True when a write was sent but its answer never came: it may or may not have been applied.
   * Read the key (or compare revisions) before repeating it.
   */
  readonly outcomeUnknown: boolean;
  /** `outcomeUnknown`: a write was sent and its answer lost (see the property). */
  constructor(message: string, options?: { cause?: unknown; outcomeUnknown?: boolean }) {
    super('UNAVAILABLE', message, options);
    this.outcomeUnknown = options?.outcomeUnknown ?? false;
  }
}

/** One endpoint tried while dialing, and why it did not become ready. */
export interface DialAttempt {
  /** The endpoint as configured (e.g. `127.0.0.1:2379`). */
  endpoint: string;
  /** Why it failed (e.g. `connect ECONNREFUSED 127.0.0.1:2379`), or its last connection state. */
  reason: string;
}

/** No endpoint accepted a connection within dialTimeoutMs. `attempts` says why, per endpoint. */
export class DialTimeoutError extends UnavailableError {
  override readonly code = 'DIAL_TIMEOUT' as const;
  /** Every endpoint tried, in order, with the reason it did not connect. */
  readonly attempts: readonly DialAttempt[];
  /** The endpoints tried, in order (the `endpoint` of each attempt). */
  readonly endpoints: readonly string[];
  /** `attempts`: every endpoint tried, in order, with why it did not connect. */
  constructor(message: string, attempts: readonly DialAttempt[], options?: { cause?: unknown }) {
    super(message, options);
    this.attempts = attempts;
    this.endpoints = attempts.map((a) => a.endpoint);
  }
}

/** The client (or the namespace view) was closed; create a new Etcd to go on. */
export class ClientClosedError extends EtcdError {
  declare readonly code: 'CLOSED';
  /** The default message says to create a new client. */
  constructor(message = 'the etcd client is closed; create a new Etcd instance to make more calls') {
    super('CLOSED', message);
  }
}

/**
 * What waited too long: a call (its requestTimeoutMs/timeoutMs), a lock or semaphore wait
 * (lock({ timeoutMs })), a campaign (campaign({ timeoutMs })), or a lease keepalive.
 */
export type DeadlineReason = 'call' | 'lock-wait' | 'campaign' | 'keepalive';

/**
 * Something waited longer than it was allowed to: the one timeout error of etcdkit. `reason`
 * says what waited, `operation` names it (e.g. `KV.Put`, `mutex "jobs"`), `timeoutMs` is the
 * limit when one was given. For a write call, `outcomeUnknown` says it may have been applied.
 * (@etcdkit/lock's LockTimeoutError is this class.)
 */
export class DeadlineExceededError extends EtcdError {
  declare readonly code: 'DEADLINE_EXCEEDED';
  /** What waited too long; see {@link DeadlineReason}. */
  readonly reason: DeadlineReason;
  /** What timed out, e.g. `KV.Put` or `mutex "jobs"`, when known. */
  readonly operation: string | undefined;
  /** The limit that was exceeded, in milliseconds, when one was given. */
  readonly timeoutMs: number | undefined;
  /**
   * True when a write was sent but its answer did not come in time: it may or may not have been
   * applied. Read the key (or compare revisions) before repeating it.
   */
  readonly outcomeUnknown: boolean;
  /** The options fill the properties of the same names; `reason` defaults to `call`. */
  constructor(
    message: string,
    options?: {
      cause?: unknown;
      outcomeUnknown?: boolean;
      reason?: DeadlineReason;
      operation?: string;
      timeoutMs?: number;
    },
  ) {
    super('DEADLINE_EXCEEDED', message, options);
    this.reason = options?.reason ?? 'call';
    this.operation = options?.operation;
    this.timeoutMs = options?.timeoutMs;
    this.outcomeUnknown = options?.outcomeUnknown ?? false;
  }
}

/** The caller's AbortSignal fired. `cause` is the signal's reason. */
export class AbortError extends EtcdError {
  declare readonly code: 'ABORTED';
  /** `options.cause`: the signal's reason. */
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super('ABORTED', message, options);
  }
}

/**
 * The requested revision was compacted away; read or watch from `compactRevision` or later.
 * `compactRevision` is etcd's compact revision: the oldest revision still readable. etcd says it
 * in a watch's cancel; for a read etcd's error has no number, so the client asks for it with one
 * watch created at revision 1, which etcd cancels with the compact revision. Only when that
 * follow-up itself fails (e.g. the connection dropped) is `exact` false, and `compactRevision`
 * is then a lower bound (the requested revision + 1, since etcd refuses exactly the revisions
 * below its compact revision).
 */
export class CompactedError extends EtcdError {
  declare readonly code: 'COMPACTED';
  /**
   * The oldest revision still readable (a lower bound when `exact` is false): read or watch from
   * there.
   */
  readonly compactRevision: bigint;
  /** True when `compactRevision` is etcd's compact revision; false when it is a lower bound. */
  readonly exact: boolean;
  /** `message` defaults to one naming `compactRevision`; `exact: false` marks it as a lower bound. */
  constructor(compactRevision: bigint, message?: string, options?: { cause?: unknown; exact?: boolean }) {
    const exact = options?.exact ?? true;
    super(
      'COMPACTED',
      message ??
        `revision compacted: the oldest revision still available is ${exact ? '' : 'at least '}${compactRevision}; ` +
          'start again from a fresh read',
      options,
    );
    this.compactRevision = compactRevision;
    this.exact = exact;
  }
}

/** The requested revision is newer than the store's current revision. */
export class FutureRevisionError extends EtcdError {
  declare readonly code: 'FUTURE_REVISION';
  /** The default message says the revision is newer than the store's. */
  constructor(
    message = 'the requested revision is newer than the current revision of the store',
    options?: { cause?: unknown },
  ) {
    super('FUTURE_REVISION', message, options);
  }
}

/** etcd does not know the lease: it expired or was revoked. Grant a new one. */
export class LeaseNotFoundError extends EtcdError {
  declare readonly code: 'LEASE_NOT_FOUND';
  /** The lease etcd did not know, when the call named one. */
  readonly leaseId: bigint | undefined;
  /** `message` defaults to one naming the lease (in hex) and saying to grant a new one. */
  constructor(leaseId?: bigint, message?: string, options?: { cause?: unknown }) {
    super(
      'LEASE_NOT_FOUND',
      message ??
        `lease ${leaseId === undefined ? '' : `${leaseId.toString(16)} `}not found: it expired or was revoked; grant a new lease`,
      options,
    );
    this.leaseId = leaseId;
  }
}

/**
 * A lease (or the session built on it) is lost: its local deadline passed without a successful
 * keepalive, or etcd reported it expired. Everything guarded by it must stop.
 */
export class LeaseExpiredError extends EtcdError {
  declare readonly code: 'LEASE_EXPIRED';
  /** The lost lease. */
  readonly leaseId: bigint;
  /** `message` defaults to one naming the lease (in hex) and saying to stop the work it guards. */
  constructor(leaseId: bigint, message?: string, options?: { cause?: unknown }) {
    super(
      'LEASE_EXPIRED',
      message ??
        `lease ${leaseId.toString(16)} is lost (not kept alive before its deadline); stop work guarded by it`,
      options,
    );
    this.leaseId = leaseId;
  }
}

/** The session's lease is lost or the session was closed. Create a new session. */
export class SessionExpiredError extends EtcdError {
  declare readonly code: 'SESSION_EXPIRED';
  /** The lease of the session that ended. */
  readonly leaseId: bigint;
  /**
   * `message` defaults to one naming the session's lease (in hex) and saying to start a new
   * session.
   */
  constructor(leaseId: bigint, message?: string, options?: { cause?: unknown }) {
    super(
      'SESSION_EXPIRED',
      message ??
        `session ${leaseId.toString(16)} is over (lease lost or session closed); start a new session`,
      options,
    );
    this.leaseId = leaseId;
  }
}

/** Wrong user name or password. */
export class AuthFailedError extends EtcdError {
  declare readonly code: 'AUTH_FAILED';
  /** The default message says to check the user name and password. */
  constructor(
    message = 'authentication failed: check the user name and password',
    options?: { cause?: unknown },
  ) {
    super('AUTH_FAILED', message, options);
  }
}

/** The auth token was rejected (expired or revoked) and could not be renewed. */
export class InvalidTokenError extends EtcdError {
  declare readonly code: 'INVALID_TOKEN';
  /** The default message says the token is invalid and could not be renewed. */
  constructor(
    message = 'the auth token is invalid or expired and could not be renewed',
    options?: { cause?: unknown },
  ) {
    super('INVALID_TOKEN', message, options);
  }
}

/** The user lacks the permission for this key or call. */
export class PermissionDeniedError extends EtcdError {
  declare readonly code: 'PERMISSION_DENIED';
  /** The key the permission was missing for, when known, as sent to etcd (a namespace prefix included). */
  readonly key: Buffer | undefined;
  /** `options.key`: the key the permission was missing for, when known. */
  constructor(message: string, options?: { cause?: unknown; key?: Buffer }) {
    super('PERMISSION_DENIED', message, options);
    this.key = options?.key;
  }
}

/**
 * The request exceeds what etcd accepts (--max-request-bytes, 1.5 MiB by default, checked on
 * the encoded request). Found before sending (`size` and `limit` are then set) or refused by etcd.
 * Split the request, store large values elsewhere, or raise the limit on both sides.
 */
export class RequestTooLargeError extends EtcdError {
  declare readonly code: 'REQUEST_TOO_LARGE';
  /** The encoded request's size in bytes, when known. */
  readonly size: number | undefined;
  /** The limit it exceeded (maxRequestBytes), when known. */
  readonly limit: number | undefined;
  /** `size` and `limit` (bytes) are set when the request was measured before sending. */
  constructor(
    message = 'the request is larger than etcd accepts (--max-request-bytes, 1.5 MiB by default); split it',
    options?: { cause?: unknown; size?: number; limit?: number },
  ) {
    super('REQUEST_TOO_LARGE', message, options);
    this.size = options?.size;
    this.limit = options?.limit;
  }
}

/**
 * Why etcd refused for lack of resources: 'too-many-requests' (its apply queue is full; the
 * request was refused before it was applied, so it is safe to send again and etcdkit retries it
 * with backoff), 'no-space' (the NOSPACE alarm: compact, defragment, disarm), or 'other'.
 */
export type ResourceExhaustedReason = 'too-many-requests' | 'no-space' | 'other';

/** etcd is overloaded (too many requests pending) or out of space; `reason` says which. */
export class ResourceExhaustedError extends EtcdError {
  declare readonly code: 'RESOURCE_EXHAUSTED';
  /** Which resource ran out; see {@link ResourceExhaustedReason}. */
  readonly reason: ResourceExhaustedReason;
  /** `reason` defaults to `other`. */
  constructor(message: string, options?: { cause?: unknown; reason?: ResourceExhaustedReason }) {
    super('RESOURCE_EXHAUSTED', message, options);
    this.reason = options?.reason ?? 'other';
  }
}

/** Why etcd refused a transaction. */
export type InvalidTxnReason = 'duplicate-key' | 'too-many-ops';

/** A transaction names the same key twice in a way etcd refuses, or has too many operations. */
export class InvalidTxnError extends EtcdError {
  declare readonly code: 'INVALID_TXN';
  /** Why etcd refused the transaction. */
  readonly reason: InvalidTxnReason;
  /** `reason`: why etcd refused the transaction. */
  constructor(message: string, options: { cause?: unknown; reason: InvalidTxnReason }) {
    super('INVALID_TXN', message, options);
    this.reason = options.reason;
  }
}

/** Bad input, caught before it reaches the wire (or refused by etcd as invalid). */
export class InvalidArgumentError extends EtcdError {
  declare readonly code: 'INVALID_ARGUMENT';
  /** `message` says which argument is wrong and what it accepts. */
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/** A watch was canceled by etcd for a reason other than compaction. */
export class WatchCanceledError extends EtcdError {
  declare readonly code: 'WATCH_CANCELED';
  /** `message` carries etcd's cancel reason. */
  constructor(message: string, options?: { cause?: unknown }) {
    super('WATCH_CANCELED', message, options);
  }
}

/** Any other failure reported by etcd or gRPC. */
export class UnknownEtcdError extends EtcdError {
  declare readonly code: 'UNKNOWN';
  /** The gRPC status code, when the failure came from gRPC. */
  readonly grpcCode: number | undefined;
  /** `grpcCode`: the gRPC status code, when the failure came from gRPC. */
  constructor(message: string, options?: { cause?: unknown; grpcCode?: number }) {
    super('UNKNOWN', message, options);
    this.grpcCode = options?.grpcCode;
  }
}
