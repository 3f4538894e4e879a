import { EventEmitter } from 'eventemitter3';
import type { RpcMessage } from '../diagnostics.js';
import {
  AbortError,
  ClientClosedError,
  CompactedError,
  DeadlineExceededError,
  DialTimeoutError,
  EtcdError,
  InvalidArgumentError,
  InvalidTokenError,
  UnavailableError,
} from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import { retry } from './backoff.js';
import { checkEndpoint } from './endpoint.js';
import { type CallContext, isRejectedBeforeApply, toEtcdError } from './error-map.js';
import { type RpcHealth, rpcRetry, traceUnary } from './rpc-diagnostics.js';
import {
  createTransport,
  defaultTransport,
  type Endpoint,
  type ReadCall,
  type ServiceName,
  type StreamCall,
  type Transport,
  type TransportKind,
  type UnaryCall,
} from './transport.js';
import type { WireWatchRequest, WireWatchResponse } from './wire.js';

/** Options every call takes: a timeout and an AbortSignal. */
export interface CallOptions {
  /** Overrides requestTimeoutMs for this call (retries included). */
  timeoutMs?: number;
  /**
   * Aborts the call (and its retries); it then rejects with an AbortError whose `cause` is the
   * signal's reason.
   */
  signal?: AbortSignal;
}

export interface UnaryOptions extends CallOptions {
  /** Send to this endpoint (an index into the endpoint list) only, without failover. */
  endpointIndex?: number;
  /** Safe to send again when the first attempt failed (reads, revokes, keepalives). */
  idempotent: boolean;
  context?: Partial<CallContext>;
}

export interface ConnectionEvents {
  connected: [endpoint: string];
  disconnected: [endpoint: string, error: EtcdError];
  endpoint: [endpoint: string];
  /** The connection was closed by close(). */
  closed: [];
}

export interface OpenStream<Req, Res> {
  call: StreamCall<Req, Res>;
  endpoint: string;
  index: number;
}

/**
 * One unary call through its attempts, of a fixed shape (a spread of the caller's options on
 * every call showed in profiles). It is also what the transport reads its deadline, signal and
 * token from.
 */
interface Unary<Req> extends UnaryCall {
  service: ServiceName;
  name: string;
  req: Req;
  timeoutMs: number;
  auth: boolean;
  idempotent: boolean;
  endpointIndex: number | undefined;
  context: Partial<CallContext> | undefined;
  /** The endpoint of the current attempt, once chosen. */
  index: number | undefined;
  /** The current attempt went out (it may have been applied). */
  sent: boolean;
  /** The 'etcdkit:rpc' message of this call, when someone subscribes. */
  rpc?: RpcMessage | undefined;
}

function parseEndpoint(raw: string, forceTls: boolean): Endpoint {
  const e = checkEndpoint(raw, 'endpoint');
  return { label: e.label, address: e.address, secure: e.scheme === 'https' || forceTls };
}

/**
 * One logical connection to an etcd cluster: the endpoints, one of them current, over a
 * transport (gRPC, or etcd's HTTP/JSON gateway). Unary calls and streams go to the current
 * endpoint; a failure moves the client to the next one that answers. Failover, auth tokens and
 * retries live here, the same for both transports.
 */
export class Connection extends EventEmitter<ConnectionEvents> {
  readonly options: ResolvedOptions;
  readonly transportKind: TransportKind;
  private readonly endpoints: Endpoint[];
  private readonly transport: Transport;
  private current = 0;
  private connectedIndex: number | undefined;
  private token: string | undefined;
  private tokenRequest: Promise<string> | undefined;
  private isClosed = false;
  /** When a unary call last succeeded, for health(). */
  readonly rpcHealth: RpcHealth = { lastSuccessAt: 0 };

  constructor(options: ResolvedOptions) {
    super();
    this.options = options;
    const anyTls = options.tls !== undefined;
    this.endpoints = options.endpoints.map((e) => parseEndpoint(e, anyTls));
    if (this.endpoints.length === 0)
      throw new InvalidArgumentError('endpoints: at least one endpoint is required (host:port)');
    const secure = this.endpoints.some((e) => e.secure);
    if (secure && this.endpoints.some((e) => !e.secure))
      throw new InvalidArgumentError(
        'endpoints mix http:// and https://; use one scheme for all (or give tls to use TLS everywhere)',
      );
    this.transportKind = options.transport ?? defaultTransport();
    this.transport = createTransport(this.transportKind, this.endpoints, options);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The endpoint calls currently go to. */
  get endpoint(): string {
    return this.endpoints[this.current]!.label;
  }

  get endpointLabels(): string[] {
    return this.endpoints.map((e) => e.label);
  }

  /** Learn more endpoints (from the member list); returns those that were new. */
  addEndpoints(urls: string[]): string[] {
    const known = new Set(this.endpoints.map((e) => e.address));
    const secure = this.endpoints[0]!.secure;
    const added: string[] = [];
    for (const url of urls) {
      let e: Endpoint;
      try {
        e = parseEndpoint(url, false);
      } catch {
        continue; // a member advertising a URL we cannot use is skipped, not fatal
      }
      if (e.secure !== secure || known.has(e.address)) continue;
      known.add(e.address);
      this.endpoints.push(e);
      added.push(e.label);
    }
    return added;
  }

  private assertOpen(): void {
    if (this.isClosed) throw new ClientClosedError();
  }

  /**
   * Resolves with the index of an endpoint that takes calls, preferring the current one
   * (or only `only`, for calls aimed at one member).
   */
  connect(deadline: number, signal?: AbortSignal, only?: number): Promise<number> {
    this.assertOpen();
    // The common case, checked before building the failover order: the preferred endpoint is ready.
    const preferred = only ?? this.current;
    if (this.transport.ready(preferred))
      return Promise.resolve(only !== undefined ? preferred : this.use(preferred));
    // The connection in use is gone (noticed here, on the way to finding another).
    const was = this.connectedIndex;
    if (was !== undefined && !this.transport.ready(was)) {
      this.connectedIndex = undefined;
      this.emit('disconnected', this.endpoints[was]!.label, new UnavailableError('the connection was lost'));
    }
    const n = this.endpoints.length;
    const order = only !== undefined ? [only] : Array.from({ length: n }, (_, k) => (this.current + k) % n);
    for (const i of order) {
      if (this.transport.ready(i)) return Promise.resolve(only !== undefined ? i : this.use(i));
    }
    return this.transport.dial(order, deadline, signal).then((i) => {
      if (this.isClosed) throw new ClientClosedError();
      return only !== undefined ? i : this.use(i);
    });
  }

  private use(i: number): number {
    if (this.current !== i) {
      this.current = i;
      this.emit('endpoint', this.endpoints[i]!.label);
    }
    if (this.connectedIndex !== i) {
      this.connectedIndex = i;
      this.emit('connected', this.endpoints[i]!.label);
    }
    return i;
  }

  /** A call or stream on endpoint i failed in a way that says the endpoint is bad: prefer another next time. */
  reportFailure(i: number, err: EtcdError): void {
    if (this.isClosed) return;
    this.transport.failed(i);
    if (this.connectedIndex === i) {
      this.connectedIndex = undefined;
      this.emit('disconnected', this.endpoints[i]!.label, err);
    }
    if (this.current === i && this.endpoints.length > 1) {
      this.current = (i + 1) % this.endpoints.length;
      this.emit('endpoint', this.endpoints[this.current]!.label);
    }
  }

  private authToken(deadline: number, signal: AbortSignal | undefined): Promise<string> {
    if (this.token) return Promise.resolve(this.token);
    if (!this.tokenRequest) {
      const { username, password } = this.options.auth!;
      const s = this.unaryState<{ name: string; password: string }>(
        'Auth',
        'Authenticate',
        { name: username, password },
        deadline - Date.now(),
        { idempotent: true, signal },
        false,
      );
      this.tokenRequest = this.attempt<{ name: string; password: string }, { token: string }>(s)
        .then((r) => {
          this.token = r.token;
          return r.token;
        })
        .finally(() => {
          this.tokenRequest = undefined;
        });
    }
    return this.tokenRequest;
  }

  /** The auth token, when the client authenticates (undefined otherwise). */
  private streamToken(signal: AbortSignal | undefined): Promise<string | undefined> | undefined {
    if (!this.options.auth) return undefined;
    return this.authToken(Date.now() + this.options.requestTimeoutMs, signal);
  }

  /** Drop a token etcd rejected, so the next call authenticates again. */
  invalidateToken(rejected?: string): void {
    if (rejected === undefined || this.token === rejected) this.token = undefined;
  }

  private unaryState<Req>(
    service: ServiceName,
    name: string,
    req: Req,
    timeoutMs: number,
    o: {
      idempotent: boolean;
      signal?: AbortSignal | undefined;
      endpointIndex?: number | undefined;
      context?: Partial<CallContext> | undefined;
    },
    auth: boolean,
  ): Unary<Req> {
    return {
      service,
      name,
      req,
      deadline: Date.now() + timeoutMs,
      timeoutMs,
      signal: o.signal,
      token: undefined,
      auth,
      idempotent: o.idempotent,
      endpointIndex: o.endpointIndex,
      context: o.context,
      index: undefined,
      sent: false,
      rpc: undefined,
    };
  }

  /**
   * One unary call, with failover and retries with backoff (full jitter, the one policy of
   * etcdkit): of any call etcd refused before applying it (too many requests, a stale token, no
   * connection yet), and, when `idempotent`, of any failure of the connection.
   */
  unary<Req, Res>(service: ServiceName, name: string, req: Req, o: UnaryOptions): Promise<Res> {
    this.assertOpen();
    return traceUnary(
      this.rpcHealth,
      service,
      name,
      o.context?.key,
      o.idempotent,
      () => this.endpoint,
      (rpc) => {
        const s = this.unaryState(
          service,
          name,
          req,
          o.timeoutMs ?? this.options.requestTimeoutMs,
          o,
          this.options.auth !== undefined,
        );
        s.rpc = rpc;
        // Nearly every call succeeds at once: the first attempt goes straight to the transport,
        // and the retry machinery is set up only after a failure.
        return this.send<Req, Res>(s).catch((err: unknown) => this.recover<Req, Res>(s, err));
      },
    );
  }

  /**
   * One attempt. When the endpoint is ready and the token (if any) known, this goes to the
   * transport synchronously, with no extra promise in between.
   */
  private send<Req, Res>(s: Unary<Req>): Promise<Res> {
    s.index = undefined;
    s.sent = false;
    if (this.isClosed) return Promise.reject(new ClientClosedError());
    if (s.signal?.aborted) return Promise.reject(this.aborted(s));
    const preferred = s.endpointIndex ?? this.current;
    if ((!s.auth || this.token !== undefined) && this.transport.ready(preferred)) {
      if (s.endpointIndex === undefined && this.connectedIndex !== preferred) this.use(preferred);
      s.index = preferred;
      s.token = s.auth ? this.token : undefined;
      s.sent = true;
      try {
        return this.transport.unary<Req, Res>(preferred, s.service, s.name, s.req, s);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return this.sendSlow(s);
  }

  private async sendSlow<Req, Res>(s: Unary<Req>): Promise<Res> {
    const index = await this.connect(
      Math.min(s.deadline, Date.now() + this.options.dialTimeoutMs),
      s.signal,
      s.endpointIndex,
    );
    s.index = index;
    s.token = s.auth ? await this.authToken(s.deadline, s.signal) : undefined;
    s.sent = true;
    return this.transport.unary<Req, Res>(index, s.service, s.name, s.req, s);
  }

  private aborted(s: Unary<unknown>): AbortError {
    return new AbortError(`${s.service}.${s.name} was aborted`, { cause: s.signal?.reason });
  }

  /** An attempt whose failure is mapped into an EtcdError (what the retry loop runs). */
  private attempt<Req, Res>(s: Unary<Req>): Promise<Res> {
    return this.send<Req, Res>(s).catch((err: unknown) => {
      throw this.failure(s, err);
    });
  }

  /** The EtcdError for a failed attempt; a bad endpoint or token is noted for the next one. */
  private failure(s: Unary<unknown>, err: unknown): EtcdError {
    if (this.isClosed) return new ClientClosedError();
    if (s.signal?.aborted) return this.aborted(s);
    const ctx: CallContext = {
      method: `${s.service}.${s.name}`,
      idempotent: s.idempotent,
      timeoutMs: s.timeoutMs,
      ...s.context,
    };
    if (s.index !== undefined) ctx.endpoint = this.endpoints[s.index]!.label;
    // A transport that knows the request never left (a refused connection) says so.
    if (s.sent && (err as { notSent?: boolean } | undefined)?.notSent !== true) ctx.sent = true;
    const e = toEtcdError(err, ctx);
    if (e instanceof InvalidTokenError) this.invalidateToken(s.token);
    // A member that fails or does not answer in time is as good as down for the next call.
    if (
      s.index !== undefined &&
      s.endpointIndex === undefined &&
      (e instanceof UnavailableError || e instanceof DeadlineExceededError)
    )
      this.reportFailure(s.index, e);
    return e;
  }

  /**
   * Whether a failed attempt may be sent again: never after a dial timeout (it already spent the
   * connection budget on every endpoint); a write only when etcd refused it before applying it.
   */
  private mayRepeat(s: Unary<unknown>, err: unknown): boolean {
    return (
      !this.isClosed &&
      !s.signal?.aborted &&
      Date.now() < s.deadline &&
      !(err instanceof DialTimeoutError) &&
      (isRejectedBeforeApply(err) || (s.idempotent && err instanceof UnavailableError))
    );
  }

  /** After a failed first attempt: retry when that is safe, and give the final error its detail. */
  private async recover<Req, Res>(s: Unary<Req>, raw: unknown): Promise<Res> {
    try {
      let err: unknown = this.failure(s, raw);
      if (!this.mayRepeat(s, err)) throw err;
      // A rejected token is renewed and the call sent once more at once: that is not a retry.
      if (err instanceof InvalidTokenError) {
        try {
          return await this.attempt<Req, Res>(s);
        } catch (e) {
          err = e;
          if (!this.mayRepeat(s, err)) throw err;
        }
      }
      const first = err;
      return await retry((n) => (n === 1 ? Promise.reject(first) : this.attempt<Req, Res>(s)), {
        retryable: (e) => this.mayRepeat(s, e),
        maxAttempts: this.options.retries + 1,
        baseMs: 25,
        capMs: 1000,
        onRetry: (err, attempt, delayMs) =>
          rpcRetry(this.options, s.rpc, s.service, s.name, err, attempt, delayMs),
        ...(s.signal ? { signal: s.signal } : {}),
      });
    } catch (err) {
      if (s.signal?.aborted && !(err instanceof EtcdError)) throw this.aborted(s);
      if (err instanceof CompactedError && !err.exact && !this.isClosed)
        throw await this.exactCompacted(err, s.context?.key, s.signal);
      throw err;
    }
  }

  /**
   * etcd's error for a read at a compacted revision has no number. Learn it with one watch
   * created at revision 1 on the same key (so the same read permission suffices): etcd cancels
   * it with its compact revision, after its next sync of unsynced watchers (every 100 ms). When
   * that fails too, the error keeps its lower bound (`exact: false`).
   */
  private async exactCompacted(err: CompactedError, key: Buffer | undefined, signal?: AbortSignal) {
    let stream: OpenStream<WireWatchRequest, WireWatchResponse> | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      stream = await this.openStream<WireWatchRequest, WireWatchResponse>('Watch', 'Watch', {
        ...(signal ? { signal } : {}),
      });
      const call = stream.call;
      const rev = await new Promise<bigint>((resolve, reject) => {
        timer = setTimeout(
          () => reject(new DeadlineExceededError('no compact revision in time', { operation: 'Watch' })),
          this.options.requestTimeoutMs,
        );
        call.on('data', (r: WireWatchResponse) => {
          const compact = BigInt(r.compactRevision);
          if (compact > 0n) resolve(compact);
          else if (r.canceled || r.events.length > 0) reject(new UnavailableError('no compact revision'));
        });
        call.on('error', reject);
        call.on('end', () => reject(new UnavailableError('the watch stream ended')));
        call.write({ createRequest: { key: key ?? Buffer.from([0]), startRevision: '1' } });
      });
      return new CompactedError(rev, undefined, { cause: err.cause });
    } catch {
      return err;
    } finally {
      clearTimeout(timer);
      if (stream) {
        stream.call.removeAllListeners();
        // Errors after cancel() (CANCELLED) are expected and not anyone's concern.
        stream.call.on('error', () => {});
        stream.call.cancel();
      }
    }
  }

  /** A server-streaming call (e.g. a snapshot) on one endpoint, or the current one. */
  async serverStream<Req, Res>(
    service: ServiceName,
    name: string,
    req: Req,
    o: { signal?: AbortSignal; endpointIndex?: number } = {},
  ): Promise<{ call: ReadCall<Res>; endpoint: string }> {
    this.assertOpen();
    const deadline = Date.now() + this.options.dialTimeoutMs;
    const index = await this.connect(deadline, o.signal, o.endpointIndex);
    const token = await this.streamToken(o.signal);
    this.assertOpen();
    const call = this.transport.serverStream<Req, Res>(index, service, name, req, { token });
    return { call, endpoint: this.endpoints[index]!.label };
  }

  /** Open a bidirectional stream on a ready endpoint. `requireLeader` makes etcd end it when the member loses its leader. */
  async openStream<Req, Res>(
    service: ServiceName,
    name: string,
    o: { signal?: AbortSignal; requireLeader?: boolean } = {},
  ): Promise<OpenStream<Req, Res>> {
    this.assertOpen();
    const deadline = Date.now() + this.options.dialTimeoutMs;
    const index = await this.connect(deadline, o.signal);
    const token = await this.streamToken(o.signal);
    this.assertOpen();
    const call = this.transport.bidi<Req, Res>(index, service, name, {
      token,
      requireLeader: o.requireLeader === true,
    });
    return { call, endpoint: this.endpoints[index]!.label, index };
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.transport.close();
    this.emit('closed');
    this.removeAllListeners();
  }
}
