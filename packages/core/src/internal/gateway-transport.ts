import { EventEmitter } from 'eventemitter3';
import { ClientClosedError, DialTimeoutError, InvalidArgumentError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import { Backoff } from './backoff.js';
import { decode, encode, methodTypes } from './gateway-json.js';
import { unref } from './signals.js';
import { StatusError, status } from './status.js';
import {
  dialFrame,
  type Endpoint,
  type ReadCall,
  registerTransport,
  type ServiceName,
  type StreamCall,
  type StreamOptions,
  type Transport,
  type UnaryCall,
} from './transport.js';
import type { WireHeader, WireWatchRequest, WireWatchResponse } from './wire.js';

/** etcd's gateway paths (the google.api.http options of its rpc.proto). */
const PATHS: Record<ServiceName, Record<string, string>> = {
  KV: {
    Range: '/v3/kv/range',
    Put: '/v3/kv/put',
    DeleteRange: '/v3/kv/deleterange',
    Txn: '/v3/kv/txn',
    Compact: '/v3/kv/compaction',
  },
  Watch: { Watch: '/v3/watch' },
  Lease: {
    LeaseGrant: '/v3/lease/grant',
    LeaseRevoke: '/v3/lease/revoke',
    LeaseKeepAlive: '/v3/lease/keepalive',
    LeaseTimeToLive: '/v3/lease/timetolive',
    LeaseLeases: '/v3/lease/leases',
  },
  Cluster: {
    MemberAdd: '/v3/cluster/member/add',
    MemberRemove: '/v3/cluster/member/remove',
    MemberUpdate: '/v3/cluster/member/update',
    MemberList: '/v3/cluster/member/list',
    MemberPromote: '/v3/cluster/member/promote',
  },
  Maintenance: {
    Alarm: '/v3/maintenance/alarm',
    Status: '/v3/maintenance/status',
    Defragment: '/v3/maintenance/defragment',
    Hash: '/v3/maintenance/hash',
    HashKV: '/v3/maintenance/hashkv',
    Snapshot: '/v3/maintenance/snapshot',
    MoveLeader: '/v3/maintenance/transfer-leadership',
  },
  Auth: {
    AuthEnable: '/v3/auth/enable',
    AuthDisable: '/v3/auth/disable',
    Authenticate: '/v3/auth/authenticate',
    UserAdd: '/v3/auth/user/add',
    UserGet: '/v3/auth/user/get',
    UserList: '/v3/auth/user/list',
    UserDelete: '/v3/auth/user/delete',
    UserChangePassword: '/v3/auth/user/changepw',
    UserGrantRole: '/v3/auth/user/grant',
    UserRevokeRole: '/v3/auth/user/revoke',
    RoleAdd: '/v3/auth/role/add',
    RoleGet: '/v3/auth/role/get',
    RoleList: '/v3/auth/role/list',
    RoleDelete: '/v3/auth/role/delete',
    RoleGrantPermission: '/v3/auth/role/grant',
    RoleRevokePermission: '/v3/auth/role/revoke',
  },
};

interface Route {
  path: string;
  response: string;
}

// Resolved once per process, on first use: a call then finds its route by two property reads.
const routes = Object.create(null) as Record<string, Record<string, Route>>;
function route(service: ServiceName, name: string): Route {
  const row = (routes[service] ??= Object.create(null) as Record<string, Route>);
  let r = row[name];
  if (!r) {
    const path = PATHS[service]?.[name];
    if (!path)
      throw new InvalidArgumentError(`etcd's HTTP gateway has no route for etcdserverpb.${service}/${name}`);
    r = { path, response: methodTypes(service, name).response };
    row[name] = r;
  }
  return r;
}

/** Is this a web page or a worker (where CORS rules what headers a request may carry)? */
const inBrowser =
  typeof (globalThis as { document?: unknown }).document !== 'undefined' ||
  typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';

interface RuntimeGlobals {
  Bun?: unknown;
  Deno?: {
    createHttpClient(o: { caCerts?: string[]; cert?: string; key?: string }): unknown;
  };
}
const runtime = globalThis as RuntimeGlobals;

function text(v: string | Uint8Array): string {
  return typeof v === 'string' ? v : Buffer.from(v).toString('utf8');
}

/** Extra fetch options carrying the TLS material, where the runtime's fetch takes it. */
function tlsInit(options: ResolvedOptions): Record<string, unknown> {
  const tls = options.tls;
  if (!tls || (tls.ca === undefined && tls.cert === undefined && tls.key === undefined)) {
    if (tls?.serverName !== undefined)
      throw new InvalidArgumentError(
        "tls.serverName is not supported by the gateway transport (fetch verifies the URL's host); use the gRPC transport",
      );
    return {};
  }
  if (tls.serverName !== undefined)
    throw new InvalidArgumentError(
      "tls.serverName is not supported by the gateway transport (fetch verifies the URL's host); use the gRPC transport",
    );
  if (runtime.Bun !== undefined) {
    const o: Record<string, string> = {};
    if (tls.ca !== undefined) o.ca = text(tls.ca);
    if (tls.cert !== undefined) o.cert = text(tls.cert);
    if (tls.key !== undefined) o.key = text(tls.key);
    return { tls: o };
  }
  if (runtime.Deno !== undefined) {
    const o: { caCerts?: string[]; cert?: string; key?: string } = {};
    if (tls.ca !== undefined) o.caCerts = [text(tls.ca)];
    if (tls.cert !== undefined) o.cert = text(tls.cert);
    if (tls.key !== undefined) o.key = text(tls.key);
    return { client: runtime.Deno.createHttpClient(o) };
  }
  throw new InvalidArgumentError(
    "tls.ca, tls.cert and tls.key need a fetch that takes TLS material (Bun's, Deno's); this runtime's does not. " +
      'Use https:// endpoints with a certificate the runtime trusts (Node: NODE_EXTRA_CA_CERTS), or the gRPC transport',
  );
}

/** Whether a fetch failure shows that the request never reached etcd. */
function refused(err: unknown): boolean {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const words = `${e?.code ?? ''} ${e?.message ?? ''} ${e?.cause?.code ?? ''} ${e?.cause?.message ?? ''}`;
  return /ECONNREFUSED|ConnectionRefused|Connection refused/i.test(words);
}

function unavailable(err: unknown, what: string): StatusError {
  const e = err as { message?: string; cause?: { message?: string; code?: string } };
  const why = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  const s = new StatusError(status.UNAVAILABLE, `${what}: ${why}`, { cause: err }) as StatusError & {
    notSent?: boolean;
  };
  if (refused(err)) s.notSent = true;
  return s;
}

/** The gRPC code for an HTTP status without a gateway error body (a proxy's answer, say). */
function codeOfHttp(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return status.INVALID_ARGUMENT;
    case 401:
      return status.UNAUTHENTICATED;
    case 403:
      return status.PERMISSION_DENIED;
    case 404:
      return status.UNIMPLEMENTED;
    case 408:
    case 504:
      return status.DEADLINE_EXCEEDED;
    case 413:
      return status.RESOURCE_EXHAUSTED;
    case 429:
    case 502:
    case 503:
      return status.UNAVAILABLE;
    default:
      return status.UNKNOWN;
  }
}

/** The error of a gateway answer: `{ error, code, message }` (unary) or `{ grpc_code, message }` (streams). */
function gatewayError(httpStatus: number, body: string): StatusError {
  try {
    const j = JSON.parse(body) as {
      code?: number;
      grpc_code?: number;
      message?: string;
      error?: string | { grpc_code?: number; message?: string };
    };
    const inner = typeof j.error === 'object' && j.error !== null ? j.error : undefined;
    const code = inner?.grpc_code ?? j.grpc_code ?? j.code;
    const message = inner?.message ?? j.message ?? (typeof j.error === 'string' ? j.error : undefined);
    if (typeof code === 'number' && typeof message === 'string') return new StatusError(code, message);
  } catch {
    // not JSON: a proxy's or a load balancer's page
  }
  return new StatusError(codeOfHttp(httpStatus), `HTTP ${httpStatus}: ${body.slice(0, 200).trim()}`);
}

/** Each line of a newline-delimited JSON body, parsed. */
async function* lines(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let rest = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += decoder.decode(value, { stream: true });
      let nl = rest.indexOf('\n');
      while (nl >= 0) {
        const line = rest.slice(0, nl).trim();
        rest = rest.slice(nl + 1);
        if (line) yield JSON.parse(line);
        nl = rest.indexOf('\n');
      }
    }
    rest += decoder.decode();
    if (rest.trim()) yield JSON.parse(rest);
  } finally {
    reader.releaseLock();
  }
}

interface Probe {
  /** The latest deadline of those waiting: the probe goes on until then. */
  until: number;
  answered: Promise<void>;
  reason: string | undefined;
  failure: Error | undefined;
}

/**
 * Unary requests in flight per client. fetch opens an HTTP/1.1 connection per concurrent request
 * (Node's has no limit, browsers 6 per host): beyond this many, calls queue in order rather than
 * open ever more connections to etcd.
 */
const MAX_UNARY = 64;

/**
 * etcd's HTTP/JSON gateway over `fetch`: no HTTP/2, no Node built-ins. Unary calls are one POST
 * each. A bidirectional stream cannot be driven through fetch (a request body must be complete
 * before the answer is read in most runtimes), so a watch stream is presented as one object over
 * one HTTP stream per watch (see GatewayWatchStream), and a lease keepalive stream as one POST
 * per keepalive.
 */
export class GatewayTransport implements Transport {
  readonly kind = 'gateway' as const;
  private readonly endpoints: readonly Endpoint[];
  private readonly options: ResolvedOptions;
  /** Per endpoint: true once it answered, false after a failure, undefined before either. */
  private readonly up: (boolean | undefined)[] = [];
  private readonly inflight = new Set<AbortController>();
  private readonly init: Record<string, unknown>;
  private readonly probes: (Probe | undefined)[] = [];
  /**
   * The last probe of each endpoint that ended without an answer: a probe that gives up at the
   * deadline ends just before the dial reports, which must still say why it failed.
   */
  private readonly failedProbes: (Probe | undefined)[] = [];
  /** Unary requests in flight, and those waiting for one of the MAX_UNARY places. */
  private active = 0;
  private readonly queue: (() => void)[] = [];
  private closed = false;

  constructor(endpoints: readonly Endpoint[], options: ResolvedOptions) {
    if (typeof fetch !== 'function')
      throw new InvalidArgumentError(
        "transport 'gateway' needs a global fetch (Node >= 18, Bun, Deno, browsers)",
      );
    this.endpoints = endpoints;
    this.options = options;
    this.init = tlsInit(options);
  }

  private url(i: number, path: string): string {
    const e = this.endpoints[i]!;
    return `${e.secure ? 'https' : 'http'}://${e.address}${path}`;
  }

  ready(i: number): boolean {
    return this.up[i] === true;
  }

  failed(i: number): void {
    this.up[i] = false;
  }

  /** One request; its controller is cancelled by close(). */
  fetch(
    i: number,
    path: string,
    body: string,
    token: string | undefined,
    stream: StreamOptions | undefined,
    signal: AbortSignal,
  ): Promise<Response> {
    if (this.closed) return Promise.reject(new ClientClosedError());
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = token;
    // gRPC metadata travels as Grpc-Metadata-* headers; browsers may not send a header etcd's
    // CORS answer does not list, so a page goes without (see the README).
    if (stream?.requireLeader && !inBrowser) headers['grpc-metadata-hasleader'] = 'true';
    return fetch(this.url(i, path), { method: 'POST', body, headers, signal, ...this.init } as RequestInit);
  }

  track(c: AbortController): () => void {
    this.inflight.add(c);
    return () => this.inflight.delete(c);
  }

  dial(order: number[], deadline: number, signal: AbortSignal | undefined): Promise<number> {
    if (this.closed) return Promise.reject(new ClientClosedError());
    return dialFrame(
      this.endpoints,
      order,
      deadline,
      signal,
      "reach etcd's HTTP gateway",
      (i) => {
        const p = this.probes[i] ?? this.failedProbes[i];
        return { reason: p?.reason ?? 'no answer', failure: p?.failure };
      },
      () => 'Check that etcd runs there, the scheme (http/https) and TLS settings, or raise dialTimeoutMs',
      (ready) => {
        for (const i of order)
          this.probe(i, deadline).then(
            () => ready(i),
            (err: unknown) => {
              if (err instanceof ClientClosedError) ready(undefined, err);
            },
          );
      },
    );
  }

  /**
   * Resolves once endpoint `i` answers (any answer of etcd's, an error body included, shows it
   * is up). One probe loop per endpoint, shared by every call waiting for it: many calls made
   * before the first connection cost one probe, not one each.
   */
  private probe(i: number, deadline: number): Promise<void> {
    const p = this.probes[i];
    if (p) {
      p.until = Math.max(p.until, deadline);
      return p.answered;
    }
    const state: Probe = {
      until: deadline,
      answered: Promise.resolve(),
      reason: undefined,
      failure: undefined,
    };
    this.probes[i] = state;
    const controller = new AbortController();
    const untrack = this.track(controller);
    state.answered = (async () => {
      const backoff = new Backoff({ baseMs: 100, capMs: 1000 });
      try {
        for (;;) {
          if (this.closed) throw new ClientClosedError();
          try {
            const res = await this.fetch(
              i,
              PATHS.Maintenance.Status!,
              '{}',
              undefined,
              undefined,
              controller.signal,
            );
            await res.arrayBuffer();
            if (res.status === 200 || res.headers.get('content-type')?.includes('json')) {
              this.up[i] = true;
              state.reason = undefined;
              state.failure = undefined;
              return;
            }
            state.reason = `HTTP ${res.status}`;
          } catch (err) {
            if (this.closed) throw new ClientClosedError();
            const e = err as Error & { cause?: { code?: string; message?: string } };
            state.reason = e.cause?.code ?? e.cause?.message ?? e.message;
            state.failure = e;
          }
          const left = state.until - Date.now();
          if (left <= 0) throw new DialTimeoutError(`${this.endpoints[i]!.label}: ${state.reason}`, []);
          await new Promise((r) => setTimeout(r, Math.min(backoff.next(), left)));
        }
      } finally {
        untrack();
        if (this.probes[i] === state) {
          this.probes[i] = undefined;
          this.failedProbes[i] = state.reason === undefined ? undefined : state;
        }
      }
    })();
    // Each waiter handles the outcome; this keeps an unawaited failure from going unhandled.
    state.answered.catch(() => {});
    return state.answered;
  }

  unary<Req, Res>(i: number, service: ServiceName, name: string, req: Req, c: UnaryCall): Promise<Res> {
    if (this.active < MAX_UNARY) return this.unaryNow(i, service, name, req, c);
    return new Promise<void>((resolve) => this.queue.push(resolve)).then(() =>
      this.unaryNow<Req, Res>(i, service, name, req, c),
    );
  }

  private async unaryNow<Req, Res>(
    i: number,
    service: ServiceName,
    name: string,
    req: Req,
    c: UnaryCall,
  ): Promise<Res> {
    this.active++;
    const r = route(service, name);
    const controller = new AbortController();
    const untrack = this.track(controller);
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        controller.abort();
      },
      Math.max(0, c.deadline - Date.now()),
    );
    const onAbort = () => controller.abort();
    c.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      let res: Response;
      let body: string;
      try {
        res = await this.fetch(i, r.path, encode(req), c.token, undefined, controller.signal);
        body = await res.text();
      } catch (err) {
        if (timedOut) throw new StatusError(status.DEADLINE_EXCEEDED, 'deadline exceeded', { cause: err });
        if (controller.signal.aborted) {
          if (this.closed) throw new ClientClosedError();
          throw new StatusError(status.CANCELLED, 'cancelled', { cause: err });
        }
        this.up[i] = false;
        throw unavailable(err, `${service}.${name} could not reach ${this.endpoints[i]!.label}`);
      }
      this.up[i] = true;
      if (res.status === 404 && !body.startsWith('{'))
        throw new StatusError(
          status.UNIMPLEMENTED,
          `etcd's HTTP gateway at ${this.endpoints[i]!.label} has no route ${r.path} ` +
            '(etcd 3.4 serves no HashKV there, for one); use the gRPC transport for this call',
        );
      if (res.status !== 200) throw gatewayError(res.status, body);
      return decode<Res>(r.response, JSON.parse(body));
    } finally {
      clearTimeout(timer);
      c.signal?.removeEventListener('abort', onAbort);
      untrack();
      this.active--;
      this.queue.shift()?.();
    }
  }

  serverStream<Req, Res>(
    i: number,
    service: ServiceName,
    name: string,
    req: Req,
    o: StreamOptions,
  ): ReadCall<Res> {
    const r = route(service, name);
    const controller = new AbortController();
    const self = this;
    async function* read(): AsyncGenerator<Res, void, undefined> {
      const untrack = self.track(controller);
      try {
        let res: Response;
        try {
          res = await self.fetch(i, r.path, encode(req), o.token, o, controller.signal);
        } catch (err) {
          if (controller.signal.aborted) throw new StatusError(status.CANCELLED, 'cancelled', { cause: err });
          throw unavailable(err, `${service}.${name} could not reach ${self.endpoints[i]!.label}`);
        }
        if (res.status !== 200 || !res.body) throw gatewayError(res.status, await res.text());
        for await (const line of lines(res.body)) {
          const l = line as { result?: unknown; error?: unknown };
          if (l.error !== undefined) throw gatewayError(500, JSON.stringify(l));
          yield decode<Res>(r.response, l.result);
        }
      } catch (err) {
        if (controller.signal.aborted && !(err instanceof StatusError))
          throw new StatusError(status.CANCELLED, 'cancelled', { cause: err });
        if (err instanceof StatusError || err instanceof ClientClosedError) throw err;
        throw unavailable(err, `${service}.${name} stream from ${self.endpoints[i]!.label} broke`);
      } finally {
        untrack();
      }
    }
    const it = read();
    return {
      [Symbol.asyncIterator]: () => it,
      cancel: () => controller.abort(),
    };
  }

  bidi<Req, Res>(i: number, service: ServiceName, name: string, o: StreamOptions): StreamCall<Req, Res> {
    if (service === 'Watch' && name === 'Watch')
      return new GatewayWatchStream(this, i, o) as unknown as StreamCall<Req, Res>;
    return new GatewayPerMessageStream<Req, Res>(this, i, service, name, o);
  }

  close(): void {
    this.closed = true;
    for (const c of this.inflight) c.abort();
    this.inflight.clear();
    // Queued calls go on to find the transport closed.
    for (const next of this.queue.splice(0)) next();
  }

  get keepalive(): { timeMs: number; timeoutMs: number } {
    return { timeMs: this.options.keepaliveTimeMs, timeoutMs: this.options.keepaliveTimeoutMs };
  }

  label(i: number): string {
    return this.endpoints[i]!.label;
  }
}

type StreamEvents<Res> = { data: [Res]; error: [unknown]; end: [] };

/**
 * A stream on which each message written is one POST and its answers are read back (lease
 * keepalives: etcd answers each one and ends the HTTP stream when the body ends).
 */
class GatewayPerMessageStream<Req, Res> extends EventEmitter<StreamEvents<Res>> {
  private readonly controllers = new Set<AbortController>();
  private stopped = false;
  private readonly route: Route;

  constructor(
    private readonly t: GatewayTransport,
    private readonly i: number,
    private readonly service: ServiceName,
    private readonly name: string,
    private readonly o: StreamOptions,
  ) {
    super();
    this.route = route(service, name);
  }

  write(req: Req): boolean {
    if (this.stopped) return false;
    const controller = new AbortController();
    this.controllers.add(controller);
    const untrack = this.t.track(controller);
    const run = async () => {
      const res = await this.t.fetch(
        this.i,
        this.route.path,
        encode(req),
        this.o.token,
        this.o,
        controller.signal,
      );
      if (res.status !== 200 || !res.body) throw gatewayError(res.status, await res.text());
      for await (const line of lines(res.body)) {
        const l = line as { result?: unknown; error?: unknown };
        if (l.error !== undefined) throw gatewayError(500, JSON.stringify(l));
        if (!this.stopped) this.emit('data', decode<Res>(this.route.response, l.result));
      }
    };
    run()
      .catch((err: unknown) => {
        if (this.stopped || controller.signal.aborted) return;
        this.fail(
          err instanceof StatusError
            ? err
            : unavailable(err, `${this.service}.${this.name} on ${this.t.label(this.i)} failed`),
        );
      })
      .finally(() => {
        this.controllers.delete(controller);
        untrack();
      });
    return true;
  }

  private fail(err: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const c of this.controllers) c.abort();
    if (err instanceof StatusError && err.code === status.UNAVAILABLE) this.t.failed(this.i);
    this.emit('error', err);
  }

  end(): void {
    this.stopped = true;
  }

  cancel(): void {
    this.stopped = true;
    for (const c of this.controllers) c.abort();
  }
}

interface WatchSub {
  /** The id this stream gives the watch (etcd's own ids restart at 0 on every HTTP stream). */
  id: string;
  controller: AbortController;
  /** Answers held until every earlier watch's creation was delivered. */
  held: WireWatchResponse[];
  released: boolean;
  header: WireHeader | undefined;
}

/**
 * A Watch stream made of one HTTP stream per watch (the gateway reads the whole request body
 * before it answers, and fetch sends a body at once). To the watch hub it behaves as one gRPC
 * Watch stream: creations are confirmed in the order they were asked for, watch ids are unique
 * within the stream, a cancel yields the canceled answer, and any HTTP stream failing fails the
 * whole stream, so the hub re-creates every watch from its next revision, as after a gRPC
 * stream failure.
 */
class GatewayWatchStream extends EventEmitter<StreamEvents<WireWatchResponse>> {
  private readonly subs = new Map<string, WatchSub>();
  private readonly unconfirmed: WatchSub[] = [];
  private nextId = 0;
  private stopped = false;
  private heartbeat: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly t: GatewayTransport,
    private readonly i: number,
    private readonly o: StreamOptions,
  ) {
    super();
  }

  write(req: WireWatchRequest): boolean {
    if (this.stopped) return false;
    if ('createRequest' in req) this.create(req);
    else if ('cancelRequest' in req) this.cancelWatch(String(req.cancelRequest.watchId));
    // progressRequest: etcdkit does not send it (see watch.ts).
    return true;
  }

  private create(req: WireWatchRequest): void {
    const sub: WatchSub = {
      id: String(this.nextId++),
      controller: new AbortController(),
      held: [],
      released: false,
      header: undefined,
    };
    this.subs.set(sub.id, sub);
    this.unconfirmed.push(sub);
    this.beat();
    const untrack = this.t.track(sub.controller);
    const run = async () => {
      const res = await this.t.fetch(
        this.i,
        '/v3/watch',
        encode(req),
        this.o.token,
        this.o,
        sub.controller.signal,
      );
      if (res.status !== 200 || !res.body) throw gatewayError(res.status, await res.text());
      for await (const line of lines(res.body)) {
        const l = line as { result?: unknown; error?: unknown };
        if (l.error !== undefined) throw gatewayError(500, JSON.stringify(l));
        const r = decode<WireWatchResponse>('WatchResponse', l.result);
        r.watchId = sub.id;
        sub.header = r.header;
        this.deliver(sub, r);
        if (r.canceled) {
          // etcd is done with this watch; its HTTP stream has nothing more to say.
          this.subs.delete(sub.id);
          sub.controller.abort();
          return;
        }
      }
      throw new StatusError(status.UNAVAILABLE, 'etcd ended a watch stream');
    };
    run()
      .catch((err: unknown) => {
        if (this.stopped || sub.controller.signal.aborted) return;
        this.fail(
          err instanceof StatusError ? err : unavailable(err, `Watch on ${this.t.label(this.i)} failed`),
        );
      })
      .finally(untrack);
  }

  /**
   * An HTTP stream whose connection went silent (a partition that drops packets) would wait
   * forever: there are no HTTP/2 pings here. Instead, every keepaliveTimeMs while watches are
   * open, the stream's member is asked for its status; no answer within keepaliveTimeoutMs
   * fails the stream, as a missed gRPC ping does.
   */
  private beat(): void {
    if (this.stopped || this.heartbeat !== undefined) return;
    const { timeMs, timeoutMs } = this.t.keepalive;
    this.heartbeat = setTimeout(() => {
      this.heartbeat = undefined;
      if (this.stopped || this.subs.size === 0) return;
      this.t
        .unary(
          this.i,
          'Maintenance',
          'Status',
          {},
          {
            deadline: Date.now() + timeoutMs,
            signal: undefined,
            token: undefined,
          },
        )
        .then(
          () => this.beat(),
          (err: unknown) => {
            const code = (err as { code?: unknown }).code;
            // Any answer of etcd's, an error included, shows the member is there.
            if (code !== status.UNAVAILABLE && code !== status.DEADLINE_EXCEEDED) return this.beat();
            this.fail(
              new StatusError(
                status.UNAVAILABLE,
                `${this.t.label(this.i)} did not answer a health check within ${timeoutMs} ms`,
                { cause: err },
              ),
            );
          },
        );
    }, timeMs);
    unref(this.heartbeat);
  }

  private deliver(sub: WatchSub, r: WireWatchResponse): void {
    if (this.stopped) return;
    if (sub.released) {
      this.emit('data', r);
      return;
    }
    sub.held.push(r);
    // Confirm creations in the order they were asked for: the hub matches them to its queue.
    while (this.unconfirmed.length > 0 && this.unconfirmed[0]!.held.length > 0) {
      const s = this.unconfirmed.shift()!;
      s.released = true;
      for (const m of s.held.splice(0)) {
        if (this.stopped) return;
        this.emit('data', m);
      }
    }
  }

  private cancelWatch(id: string): void {
    const sub = this.subs.get(id);
    if (!sub) return;
    this.subs.delete(id);
    sub.controller.abort();
    const header = sub.header;
    if (!header) return;
    queueMicrotask(() => {
      if (this.stopped) return;
      this.emit('data', {
        header,
        watchId: id,
        created: false,
        canceled: true,
        compactRevision: '0',
        cancelReason: '',
        fragment: false,
        events: [],
      });
    });
  }

  private fail(err: unknown): void {
    if (this.stopped) return;
    this.stop();
    if (err instanceof StatusError && err.code === status.UNAVAILABLE) this.t.failed(this.i);
    this.emit('error', err);
  }

  private stop(): void {
    this.stopped = true;
    clearTimeout(this.heartbeat);
    this.heartbeat = undefined;
    for (const s of this.subs.values()) s.controller.abort();
    this.subs.clear();
    this.unconfirmed.length = 0;
  }

  end(): void {
    this.stop();
  }

  cancel(): void {
    this.stop();
  }
}

registerTransport('gateway', (endpoints, options) => new GatewayTransport(endpoints, options));
