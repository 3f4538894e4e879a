import { AbortError, type DialAttempt, DialTimeoutError, InvalidArgumentError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';

export type ServiceName = 'KV' | 'Watch' | 'Lease' | 'Cluster' | 'Maintenance' | 'Auth';

export type TransportKind = 'grpc' | 'gateway';

export interface Endpoint {
  /** As the user wrote it (minus a trailing slash): used in messages and events. */
  label: string;
  /** host:port. */
  address: string;
  secure: boolean;
}

/**
 * The part of a bidirectional stream that the watch hub and the lease manager use. A grpc-js
 * duplex stream is one; the gateway transport builds one from HTTP requests.
 */
export interface StreamCall<Req, Res> {
  write(req: Req): unknown;
  end(): void;
  /** Stop the stream. Listeners may see one more 'error' (a cancellation): keep one attached. */
  cancel(): void;
  on(event: 'data', listener: (res: Res) => void): unknown;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  once(event: 'data', listener: (res: Res) => void): unknown;
  once(event: 'error', listener: (err: unknown) => void): unknown;
  removeAllListeners(): unknown;
}

/** A server stream: iterate it for the responses; cancel() ends it early. */
export interface ReadCall<Res> extends AsyncIterable<Res> {
  cancel(): void;
}

export interface UnaryCall {
  deadline: number;
  signal: AbortSignal | undefined;
  /** The auth token, if the client authenticates. */
  token: string | undefined;
}

export interface StreamOptions {
  token: string | undefined;
  /** etcd ends the stream when its member loses the leader. */
  requireLeader?: boolean;
}

/**
 * How calls reach etcd: below Connection's failover, auth and retries. Endpoints are addressed
 * by their index in the shared endpoint list (which only grows).
 */
export interface Transport {
  readonly kind: TransportKind;
  /** Whether endpoint `i` takes calls now, as far as the transport knows (synchronous: the fast path asks it per call). */
  ready(i: number): boolean;
  /**
   * Resolves with the first endpoint of `order` found ready. Rejects with a DialTimeoutError
   * after `deadline`, an AbortError when `signal` aborts, a ClientClosedError on close().
   */
  dial(order: number[], deadline: number, signal: AbortSignal | undefined): Promise<number>;
  /** A call or stream on endpoint `i` failed as if the endpoint were down. */
  failed(i: number): void;
  unary<Req, Res>(i: number, service: ServiceName, name: string, req: Req, call: UnaryCall): Promise<Res>;
  serverStream<Req, Res>(
    i: number,
    service: ServiceName,
    name: string,
    req: Req,
    o: StreamOptions,
  ): ReadCall<Res>;
  bidi<Req, Res>(i: number, service: ServiceName, name: string, o: StreamOptions): StreamCall<Req, Res>;
  /** Cancel every call in flight and release the connections. */
  close(): void;
}

export type TransportFactory = (endpoints: readonly Endpoint[], options: ResolvedOptions) => Transport;

// Each entry point registers the transports it carries: the Node entry both, the browser/edge
// entry only the gateway (so that grpc-js and node: modules stay out of its import graph).
const factories = new Map<TransportKind, TransportFactory>();

export function registerTransport(kind: TransportKind, factory: TransportFactory): void {
  factories.set(kind, factory);
}

/** The transport used when none is chosen: gRPC where it is available, else the gateway. */
export function defaultTransport(): TransportKind {
  return factories.has('grpc') ? 'grpc' : 'gateway';
}

export function createTransport(
  kind: TransportKind,
  endpoints: readonly Endpoint[],
  options: ResolvedOptions,
): Transport {
  const f = factories.get(kind);
  if (!f)
    throw new InvalidArgumentError(
      kind === 'grpc'
        ? "transport 'grpc' is not part of this build of @etcdkit/core (the browser/edge entry); use transport: 'gateway'"
        : `transport ${JSON.stringify(kind)} is not available in this build of @etcdkit/core`,
    );
  return f(endpoints, options);
}

/** What a dial knows about one endpoint when its time is up. */
export interface DialFinding {
  /** Why the endpoint did not answer, for the message ("connection refused", "no answer"). */
  reason: string;
  /** The error behind it, when there is one (becomes the DialTimeoutError's cause). */
  failure: Error | undefined;
}

/**
 * The frame every transport's dial shares: a promise settled once, with the first endpoint
 * `start` reports ready (`ready(i)`), a transport error (`ready(undefined, err)`), an AbortError
 * when `signal` aborts, or at `deadline` a DialTimeoutError that lists what `findings` says of
 * each endpoint tried, with `advice` (given the findings) as its last sentence.
 */
export function dialFrame(
  endpoints: readonly Endpoint[],
  order: readonly number[],
  deadline: number,
  signal: AbortSignal | undefined,
  what: string,
  findings: (i: number) => DialFinding,
  advice: (found: readonly DialFinding[]) => string,
  start: (ready: (i: number | undefined, err?: Error) => void, settled: () => boolean) => void,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let done = false;
    const finish = (i: number | undefined, err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(i!);
    };
    const onAbort = () =>
      finish(undefined, new AbortError('connecting to etcd was aborted', { cause: signal?.reason }));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const ms = Math.max(0, deadline - Date.now());
    const timer = setTimeout(() => {
      const found = order.map(findings);
      const attempts: DialAttempt[] = order.map((i, n) => ({
        endpoint: endpoints[i]!.label,
        reason: found[n]!.reason,
      }));
      const causes = found.map((f) => f.failure).filter((e): e is Error => e !== undefined);
      finish(
        undefined,
        new DialTimeoutError(
          `could not ${what} within ${ms} ms; tried ${attempts.map((a) => `${a.endpoint} (${a.reason})`).join(', ')}. ` +
            advice(found),
          attempts,
          causes.length === 0
            ? {}
            : {
                cause: causes.length === 1 ? causes[0] : new AggregateError(causes, 'every endpoint failed'),
              },
        ),
      );
    }, ms);
    start(finish, () => done);
  });
}
