import * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'eventemitter3';
import type { RpcMessage } from '../diagnostics.js';
import {
  AbortError,
  ClientClosedError,
  CompactedError,
  DeadlineExceededError,
  type DialAttempt,
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
import { type AnyMethod, method, type ServiceName } from './proto.js';
import { type RpcHealth, rpcRetry, traceUnary } from './rpc-diagnostics.js';
import type { WireWatchRequest, WireWatchResponse } from './wire.js';

interface Endpoint {
  /** As the user wrote it (minus a trailing slash): used in messages and events. */
  label: string;
  /** host:port for gRPC. */
  address: string;
  secure: boolean;
}

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
  call: grpc.ClientDuplexStream<Req, Res>;
  endpoint: string;
  index: number;
}

const { READY, SHUTDOWN, TRANSIENT_FAILURE } = grpc.connectivityState;

function parseEndpoint(raw: string, forceTls: boolean): Endpoint {
  const e = checkEndpoint(raw, 'endpoint');
  return { label: e.label, address: e.address, secure: e.scheme === 'https' || forceTls };
}

function pem(v: string | Buffer | undefined): Buffer | null {
  return v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v);
}

/**
 * One logical connection to an etcd cluster: a gRPC channel per endpoint, created lazily,
 * one of them current. Unary calls and streams go to the current endpoint; a failure moves
 * the client to the next one that answers.
 */
export class Connection extends EventEmitter<ConnectionEvents> {
  readonly options: ResolvedOptions;
  private readonly endpoints: Endpoint[];
  private readonly clients: (grpc.Client | undefined)[];
  private readonly credentials: grpc.ChannelCredentials;
  private current = 0;
  private connectedIndex: number | undefined;
  private token: string | undefined;
  private tokenRequest: Promise<string> | undefined;
  private readonly inflight = new Set<{ cancel(): void }>();
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
    this.clients = this.endpoints.map(() => undefined);
    const secure = this.endpoints.some((e) => e.secure);
    if (secure && this.endpoints.some((e) => !e.secure))
      throw new InvalidArgumentError(
        'endpoints mix http:// and https://; use one scheme for all (or give tls to use TLS everywhere)',
      );
    const tls = options.tls ?? {};
    this.credentials = secure
      ? grpc.credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert))
      : grpc.credentials.createInsecure();
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
      this.clients.push(undefined);
      added.push(e.label);
    }
    return added;
  }

  private client(i: number): grpc.Client {
    let c = this.clients[i];
    if (!c) {
      const o = this.options;
      const channelOptions: grpc.ChannelOptions = {
        'grpc.keepalive_time_ms': o.keepaliveTimeMs,
        'grpc.keepalive_timeout_ms': o.keepaliveTimeoutMs,
        // etcd's server refuses pings on connections without streams.
        'grpc.keepalive_permit_without_calls': 0,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
        'grpc.max_receive_message_length': 2 ** 31 - 1,
        'grpc.max_send_message_length': 2 ** 31 - 1,
        'grpc.use_local_subchannel_pool': 1,
        'grpc.service_config_disable_resolution': 1,
      };
      if (o.tls?.serverName) channelOptions['grpc.ssl_target_name_override'] = o.tls.serverName;
      c = new grpc.Client(this.endpoints[i]!.address, this.credentials, channelOptions);
      this.clients[i] = c;
    }
    return c;
  }

  private assertOpen(): void {
    if (this.isClosed) throw new ClientClosedError();
  }

  /**
   * Resolves with the index of an endpoint whose channel is ready, preferring the current one
   * (or only `only`, for calls aimed at one member).
   */
  connect(deadline: number, signal?: AbortSignal, only?: number): Promise<number> {
    this.assertOpen();
    // The common case, checked before building the failover order: the preferred channel is ready.
    const preferred = only ?? this.current;
    if (this.client(preferred).getChannel().getConnectivityState(false) === READY)
      return Promise.resolve(only !== undefined ? preferred : this.use(preferred));
    // The connection in use is gone (noticed here, on the way to finding another).
    const was = this.connectedIndex;
    if (was !== undefined && this.client(was).getChannel().getConnectivityState(false) !== READY) {
      this.connectedIndex = undefined;
      this.emit('disconnected', this.endpoints[was]!.label, new UnavailableError('the connection was lost'));
    }
    const n = this.endpoints.length;
    const order = only !== undefined ? [only] : Array.from({ length: n }, (_, k) => (this.current + k) % n);
    for (const i of order) {
      if (this.client(i).getChannel().getConnectivityState(false) === READY)
        return Promise.resolve(only !== undefined ? i : this.use(i));
    }
    return new Promise<number>((resolve, reject) => {
      let done = false;
      const states: string[] = new Array(n).fill('IDLE');
      const reasons: (string | undefined)[] = new Array(n).fill(undefined);
      const failures: (Error | undefined)[] = new Array(n).fill(undefined);
      const finish = (err: Error | undefined, i?: number) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(only !== undefined ? i! : this.use(i!));
      };
      const onAbort = () =>
        finish(new AbortError('connecting to etcd was aborted', { cause: signal?.reason }));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const ms = Math.max(0, deadline - Date.now());
      const timer = setTimeout(() => {
        const attempts: DialAttempt[] = order.map((i) => ({
          endpoint: this.endpoints[i]!.label,
          reason: reasons[i] ?? `no connection (state ${states[i]})`,
        }));
        const tried = attempts.map((a) => `${a.endpoint} (${a.reason})`);
        const tls = reasons.some((r) => r && /certificate|CERT_|self.signed|SSL|TLS|handshake/i.test(r));
        const causes = order.map((i) => failures[i]).filter((e): e is Error => e !== undefined);
        finish(
          new DialTimeoutError(
            `could not connect to etcd within ${ms} ms; tried ${tried.join(', ')}. ` +
              (tls
                ? 'The TLS handshake failed: the server certificate did not verify against tls.ca (or the client certificate was refused); check tls.ca, tls.cert, tls.key and tls.serverName'
                : 'Check that etcd runs there, the scheme (http/https) and TLS settings, or raise dialTimeoutMs'),
            attempts,
            causes.length === 0
              ? {}
              : {
                  cause:
                    causes.length === 1 ? causes[0] : new AggregateError(causes, 'every endpoint failed'),
                },
          ),
        );
      }, ms);
      const watch = (i: number) => {
        if (done || this.isClosed) return finish(this.isClosed ? new ClientClosedError() : undefined, i);
        const ch = this.client(i).getChannel();
        const s = ch.getConnectivityState(true);
        states[i] = grpc.connectivityState[s] ?? String(s);
        if (s === READY) return finish(undefined, i);
        if (s === SHUTDOWN) return;
        if (s === TRANSIENT_FAILURE && reasons[i] === undefined)
          this.probe(i, (r, e) => {
            reasons[i] = r;
            failures[i] = e;
          });
        ch.watchConnectivityState(s, deadline, (err) => {
          if (!err) watch(i);
        });
      };
      for (const i of order) watch(i);
    });
  }

  /** Learn why a failing channel fails: a call on it is refused at once with the last connection error. */
  private probe(i: number, report: (reason: string, err: Error) => void): void {
    const m = method('Maintenance', 'Status');
    this.client(i).makeUnaryRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      {},
      new grpc.Metadata(),
      { deadline: Date.now() + 1000 },
      (err) => {
        if (err)
          report(
            err.details
              .replace(/^No connection established\. Last error: /, '')
              .replace(/^Error: /, '')
              .replace(/\.? ?Resolution note: ?$/, '')
              .trim(),
            err,
          );
      },
    );
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
    if (this.connectedIndex === i) {
      this.connectedIndex = undefined;
      this.emit('disconnected', this.endpoints[i]!.label, err);
    }
    if (this.current === i && this.endpoints.length > 1) {
      this.current = (i + 1) % this.endpoints.length;
      this.emit('endpoint', this.endpoints[this.current]!.label);
    }
  }

  private async metadata(deadline: number, signal: AbortSignal | undefined, extra?: Record<string, string>) {
    const md = new grpc.Metadata();
    if (this.options.auth) md.set('token', await this.authToken(deadline, signal));
    if (extra) for (const [k, v] of Object.entries(extra)) md.set(k, v);
    return md;
  }

  private authToken(deadline: number, signal: AbortSignal | undefined): Promise<string> {
    if (this.token) return Promise.resolve(this.token);
    if (!this.tokenRequest) {
      const { username, password } = this.options.auth!;
      this.tokenRequest = this.call<{ name: string; password: string }, { token: string }>(
        'Auth',
        'Authenticate',
        { name: username, password },
        { idempotent: true, auth: false, deadline, timeoutMs: deadline - Date.now(), signal },
      )
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

  /** Drop a token etcd rejected, so the next call authenticates again. */
  invalidateToken(rejected?: string): void {
    if (rejected === undefined || this.token === rejected) this.token = undefined;
  }

  /**
   * One unary call, with failover and retries with backoff (full jitter, the one policy of
   * etcdkit): of any call etcd refused before applying it (too many requests, a stale token, no
   * connection yet), and, when `idempotent`, of any failure of the connection.
   */
  unary<Req, Res>(service: ServiceName, name: string, req: Req, o: UnaryOptions): Promise<Res> {
    this.assertOpen();
    const endpoint = () => this.endpoint;
    return traceUnary(this.rpcHealth, service, name, o.context?.key, o.idempotent, endpoint, (rpc) =>
      this.unaryCall<Req, Res>(service, name, req, o, rpc),
    );
  }

  private unaryCall<Req, Res>(
    service: ServiceName,
    name: string,
    req: Req,
    o: UnaryOptions,
    rpc: RpcMessage | undefined,
  ): Promise<Res> {
    const timeoutMs = o.timeoutMs ?? this.options.requestTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    // One options object per call, of a fixed shape (spreading `o` on every call showed in profiles).
    const callOptions = {
      deadline,
      timeoutMs,
      signal: o.signal,
      auth: this.options.auth !== undefined,
      idempotent: o.idempotent,
      endpointIndex: o.endpointIndex,
      context: o.context,
    };
    const run = () => this.call<Req, Res>(service, name, req, callOptions);
    // Whether a failed attempt may be sent again: never after a dial timeout (it already spent the
    // connection budget on every endpoint); a write only when etcd refused it before applying it.
    const mayRepeat = (err: unknown) =>
      !this.isClosed &&
      !o.signal?.aborted &&
      Date.now() < deadline &&
      !(err instanceof DialTimeoutError) &&
      (isRejectedBeforeApply(err) || (o.idempotent && err instanceof UnavailableError));
    // Nearly every call succeeds at once: make the first attempt directly and set up the retry
    // loop only after a failure, which it then sees as its attempt 1.
    const again = (first: unknown): Promise<Res> => {
      if (!mayRepeat(first)) throw first;
      // A rejected token is renewed and the call sent once more at once: that is not a retry.
      if (first instanceof InvalidTokenError) return run().catch(backoff);
      return backoff(first);
    };
    const backoff = (first: unknown): Promise<Res> => {
      if (!mayRepeat(first)) throw first;
      return retry((attempt) => (attempt === 1 ? Promise.reject(first) : run()), {
        retryable: mayRepeat,
        maxAttempts: this.options.retries + 1,
        baseMs: 25,
        capMs: 1000,
        onRetry: (err, attempt, delayMs) => rpcRetry(this.options, rpc, service, name, err, attempt, delayMs),
        ...(o.signal ? { signal: o.signal } : {}),
      });
    };
    return run()
      .catch(again)
      .catch(async (err: unknown) => {
        if (o.signal?.aborted && !(err instanceof EtcdError))
          throw new AbortError(`${service}.${name} was aborted`, { cause: o.signal.reason });
        if (err instanceof CompactedError && !err.exact && !this.isClosed)
          throw await this.exactCompacted(err, o.context?.key, o.signal);
        throw err;
      });
  }

  /**
   * etcd's error for a read at a compacted revision has no number. Learn it with one watch
   * created at revision 1 on the same key (so the same read permission suffices): etcd cancels
   * it with its compact revision, after its next sync of unsynced watchers (every 100 ms). When
   * that fails too, the error keeps its lower bound (`exact: false`).
   */
  private async exactCompacted(err: CompactedError, key: Buffer | undefined, signal?: AbortSignal) {
    let stream: OpenStream<WireWatchRequest, WireWatchResponse> | undefined;
    let timer: NodeJS.Timeout | undefined;
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

  private async call<Req, Res>(
    service: ServiceName,
    name: string,
    req: Req,
    o: {
      deadline: number;
      timeoutMs: number;
      signal?: AbortSignal | undefined;
      auth: boolean;
      idempotent: boolean;
      endpointIndex?: number | undefined;
      context?: Partial<CallContext>;
    },
  ): Promise<Res> {
    this.assertOpen();
    const m = method(service, name);
    const ctx: CallContext = {
      method: `${service}.${name}`,
      idempotent: o.idempotent,
      timeoutMs: o.timeoutMs,
      ...o.context,
    };
    let index: number | undefined;
    let token: string | undefined;
    try {
      if (o.signal?.aborted) throw new AbortError(`${ctx.method} was aborted`, { cause: o.signal.reason });
      index = await this.connect(
        Math.min(o.deadline, Date.now() + this.options.dialTimeoutMs),
        o.signal,
        o.endpointIndex,
      );
      ctx.endpoint = this.endpoints[index]!.label;
      const md = o.auth ? await this.metadata(o.deadline, o.signal) : new grpc.Metadata();
      token = md.get('token')[0] as string | undefined;
      ctx.sent = true;
      return await this.invoke<Req, Res>(index, m, req, md, o.deadline, o.signal);
    } catch (err) {
      if (this.isClosed) throw new ClientClosedError();
      if (o.signal?.aborted) throw new AbortError(`${ctx.method} was aborted`, { cause: o.signal.reason });
      const e = toEtcdError(err, ctx);
      if (e instanceof InvalidTokenError) this.invalidateToken(token);
      // A member that fails or does not answer in time is as good as down for the next call.
      if (
        index !== undefined &&
        o.endpointIndex === undefined &&
        (e instanceof UnavailableError || e instanceof DeadlineExceededError)
      )
        this.reportFailure(index, e);
      throw e;
    }
  }

  private invoke<Req, Res>(
    index: number,
    m: AnyMethod,
    req: Req,
    md: grpc.Metadata,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const onAbort = () => call.cancel();
      const call = this.client(index).makeUnaryRequest<Req, Res>(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        req,
        md,
        { deadline },
        (err, res) => {
          this.inflight.delete(call);
          signal?.removeEventListener('abort', onAbort);
          if (err) reject(err);
          else resolve(res as Res);
        },
      );
      this.inflight.add(call);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A server-streaming call (e.g. a snapshot) on one endpoint, or the current one. */
  async serverStream<Req, Res>(
    service: ServiceName,
    name: string,
    req: Req,
    o: { signal?: AbortSignal; endpointIndex?: number } = {},
  ): Promise<{ call: grpc.ClientReadableStream<Res>; endpoint: string }> {
    this.assertOpen();
    const deadline = Date.now() + this.options.dialTimeoutMs;
    const index = await this.connect(deadline, o.signal, o.endpointIndex);
    const md = await this.metadata(Date.now() + this.options.requestTimeoutMs, o.signal);
    this.assertOpen();
    const m = method(service, name);
    const call = this.client(index).makeServerStreamRequest<Req, Res>(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      req,
      md,
      {},
    );
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
    const md = await this.metadata(
      Date.now() + this.options.requestTimeoutMs,
      o.signal,
      o.requireLeader ? { hasleader: 'true' } : undefined,
    );
    this.assertOpen();
    const m = method(service, name);
    const call = this.client(index).makeBidiStreamRequest<Req, Res>(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      md,
      {},
    );
    return { call, endpoint: this.endpoints[index]!.label, index };
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const c of this.inflight) c.cancel();
    this.inflight.clear();
    for (const c of this.clients) c?.close();
    this.emit('closed');
    this.removeAllListeners();
  }
}
