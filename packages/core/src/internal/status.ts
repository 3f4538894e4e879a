/**
 * gRPC status codes (the numbers are part of the gRPC protocol). Both transports report
 * failures with them: grpc-js directly, etcd's HTTP gateway in the `code` of its error bodies.
 * Kept here rather than imported from grpc-js so the gateway build does not load grpc-js.
 */
export const status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** An error carrying a gRPC status, as grpc-js raises them; the gateway transport raises the same. */
export class StatusError extends Error {
  readonly code: number;
  readonly details: string;
  constructor(code: number, details: string, options?: { cause?: unknown }) {
    super(`${code} ${details}`, options);
    this.name = 'StatusError';
    this.code = code;
    this.details = details;
  }
}
