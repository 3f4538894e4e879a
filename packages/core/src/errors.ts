/**
 * Every error etcdkit throws is an EtcdError. Each class says what happened; its message
 * says what to do. gRPC statuses and etcd's error strings are mapped in internal/error-map.ts.
 */
export class EtcdError extends Error {
  /** A stable, machine-readable code, e.g. 'UNAVAILABLE' or 'COMPACTED'. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** No endpoint could serve the request (down, unreachable, no leader). Safe calls were already retried. */
export class UnavailableError extends EtcdError {
  /**
   * True when a write was sent but its answer never came: it may or may not have been applied.
   * Read the key (or compare revisions) before repeating it.
   */
  readonly outcomeUnknown: boolean;
  constructor(message: string, options?: { cause?: unknown; outcomeUnknown?: boolean; code?: string }) {
    super(options?.code ?? 'UNAVAILABLE', message, options);
    this.outcomeUnknown = options?.outcomeUnknown ?? false;
  }
}

/** No endpoint accepted a connection within dialTimeoutMs. */
export class DialTimeoutError extends UnavailableError {
  readonly endpoints: readonly string[];
  constructor(message: string, endpoints: readonly string[], options?: { cause?: unknown }) {
    super(message, { ...options, code: 'DIAL_TIMEOUT' });
    this.endpoints = endpoints;
  }
}

/** The client (or the namespace view) was closed; create a new Etcd to go on. */
export class ClientClosedError extends EtcdError {
  constructor(message = 'the etcd client is closed; create a new Etcd instance to make more calls') {
    super('CLOSED', message);
  }
}

/** The call did not finish within its timeout. For writes, the outcome is unknown. */
export class DeadlineExceededError extends EtcdError {
  readonly outcomeUnknown: boolean;
  /** The timeout that ran out, when a caller gave one (lock, campaign and other waits). */
  readonly timeoutMs: number | undefined;
  constructor(message: string, options?: { cause?: unknown; outcomeUnknown?: boolean; timeoutMs?: number }) {
    super('DEADLINE_EXCEEDED', message, options);
    this.outcomeUnknown = options?.outcomeUnknown ?? false;
    this.timeoutMs = options?.timeoutMs;
  }
}

/** The caller's AbortSignal fired. `cause` is the signal's reason. */
export class AbortError extends EtcdError {
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super('ABORTED', message, options);
  }
}

/** The requested revision was compacted away; read or watch from `compactRevision` or later. */
export class CompactedError extends EtcdError {
  readonly compactRevision: bigint;
  constructor(compactRevision: bigint, message?: string, options?: { cause?: unknown }) {
    super(
      'COMPACTED',
      message ??
        (compactRevision > 0n
          ? `revision compacted: the oldest revision still available is ${compactRevision}; start again from a fresh read`
          : 'the requested revision was compacted; start again from a fresh read at the current revision'),
      options,
    );
    this.compactRevision = compactRevision;
  }
}

/** The requested revision is newer than the store's current revision. */
export class FutureRevisionError extends EtcdError {
  constructor(
    message = 'the requested revision is newer than the current revision of the store',
    options?: { cause?: unknown },
  ) {
    super('FUTURE_REVISION', message, options);
  }
}

/** etcd does not know the lease: it expired or was revoked. Grant a new one. */
export class LeaseNotFoundError extends EtcdError {
  readonly leaseId: bigint | undefined;
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
  readonly leaseId: bigint;
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
  readonly leaseId: bigint;
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
  constructor(
    message = 'authentication failed: check the user name and password',
    options?: { cause?: unknown },
  ) {
    super('AUTH_FAILED', message, options);
  }
}

/** The auth token was rejected (expired or revoked) and could not be renewed. */
export class InvalidTokenError extends EtcdError {
  constructor(
    message = 'the auth token is invalid or expired and could not be renewed',
    options?: { cause?: unknown },
  ) {
    super('INVALID_TOKEN', message, options);
  }
}

/** The user lacks the permission for this key or call. */
export class PermissionDeniedError extends EtcdError {
  readonly key: Buffer | undefined;
  constructor(message: string, options?: { cause?: unknown; key?: Buffer }) {
    super('PERMISSION_DENIED', message, options);
    this.key = options?.key;
  }
}

/** The request exceeds etcd's --max-request-bytes (1.5 MiB by default). Split it. */
export class RequestTooLargeError extends EtcdError {
  constructor(
    message = 'the request is larger than etcd accepts (--max-request-bytes, 1.5 MiB by default); split it',
    options?: { cause?: unknown },
  ) {
    super('REQUEST_TOO_LARGE', message, options);
  }
}

/** etcd is overloaded (too many requests pending) or out of space. */
export class ResourceExhaustedError extends EtcdError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'RESOURCE_EXHAUSTED', message, options);
  }
}

/** A transaction names the same key twice in a way etcd refuses, or has too many operations. */
export class InvalidTxnError extends EtcdError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'INVALID_TXN', message, options);
  }
}

/** Bad input, caught before it reaches the wire (or refused by etcd as invalid). */
export class InvalidArgumentError extends EtcdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/** A watch was canceled by etcd for a reason other than compaction. */
export class WatchCanceledError extends EtcdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WATCH_CANCELED', message, options);
  }
}

/** Any other failure reported by etcd or gRPC. */
export class UnknownEtcdError extends EtcdError {
  readonly grpcCode: number | undefined;
  constructor(message: string, options?: { cause?: unknown; grpcCode?: number }) {
    super('UNKNOWN', message, options);
    this.grpcCode = options?.grpcCode;
  }
}
