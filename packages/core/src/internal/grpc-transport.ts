import * as grpc from '@grpc/grpc-js';
import { ClientClosedError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import { type Deadline, DeadlineQueue } from './deadlines.js';
import { type AnyMethod, method } from './proto.js';
import { setTxnEncoder } from './request-size.js';
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

const { READY, SHUTDOWN, TRANSIENT_FAILURE } = grpc.connectivityState;

function pem(v: string | Uint8Array | undefined): Buffer | null {
  return v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v as string);
}

type Methods = Record<ServiceName, Record<string, AnyMethod>>;

// Resolved once per process, on first use: a call then finds its method by two property reads.
let methods: Methods | undefined;
function methodTable(): Methods {
  if (!methods) {
    const table = {} as Methods;
    const names: Record<ServiceName, string[]> = {
      KV: ['Range', 'Put', 'DeleteRange', 'Txn', 'Compact'],
      Watch: ['Watch'],
      Lease: ['LeaseGrant', 'LeaseRevoke', 'LeaseKeepAlive', 'LeaseTimeToLive', 'LeaseLeases'],
      Cluster: ['MemberAdd', 'MemberRemove', 'MemberUpdate', 'MemberList', 'MemberPromote'],
      Maintenance: ['Alarm', 'Status', 'Defragment', 'Hash', 'HashKV', 'Snapshot', 'MoveLeader', 'Downgrade'],
      Auth: [
        'AuthEnable',
        'AuthDisable',
        'AuthStatus',
        'Authenticate',
        'UserAdd',
        'UserGet',
        'UserList',
        'UserDelete',
        'UserChangePassword',
        'UserGrantRole',
        'UserRevokeRole',
        'RoleAdd',
        'RoleGet',
        'RoleList',
        'RoleDelete',
        'RoleGrantPermission',
        'RoleRevokePermission',
      ],
    };
    for (const [svc, list] of Object.entries(names) as [ServiceName, string[]][]) {
      const row: Record<string, AnyMethod> = Object.create(null);
      for (const n of list) {
        try {
          row[n] = method(svc, n);
        } catch {
          // not in this schema (a newer etcd's call): resolved by name if ever used
        }
      }
      table[svc] = row;
    }
    methods = table;
  }
  return methods;
}

function find(service: ServiceName, name: string): AnyMethod {
  return methodTable()[service][name] ?? method(service, name);
}

/** What a call this transport cancelled at its deadline fails with: grpc-js's own status for it. */
function deadlineExceeded(cause: grpc.ServiceError): StatusError {
  return new StatusError(status.DEADLINE_EXCEEDED, 'Deadline exceeded', { cause });
}

/** etcd over gRPC (grpc-js): one channel per endpoint, created on first use. */
export class GrpcTransport implements Transport {
  readonly kind = 'grpc' as const;
  private readonly endpoints: readonly Endpoint[];
  private readonly options: ResolvedOptions;
  private readonly clients: (grpc.Client | undefined)[] = [];
  private readonly credentials: grpc.ChannelCredentials;
  private readonly inflight = new Set<{ cancel(): void }>();
  private readonly deadlines = new DeadlineQueue();
  private closed = false;

  constructor(endpoints: readonly Endpoint[], options: ResolvedOptions) {
    this.endpoints = endpoints;
    this.options = options;
    const tls = options.tls ?? {};
    this.credentials = endpoints[0]?.secure
      ? grpc.credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert))
      : grpc.credentials.createInsecure();
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

  ready(i: number): boolean {
    return this.client(i).getChannel().getConnectivityState(false) === READY;
  }

  failed(_i: number): void {
    // grpc-js follows each channel's state itself.
  }

  dial(order: number[], deadline: number, signal: AbortSignal | undefined): Promise<number> {
    const n = this.endpoints.length;
    const states: string[] = new Array(n).fill('IDLE');
    const reasons: (string | undefined)[] = new Array(n).fill(undefined);
    const failures: (Error | undefined)[] = new Array(n).fill(undefined);
    return dialFrame(
      this.endpoints,
      order,
      deadline,
      signal,
      'connect to etcd',
      (i) => ({ reason: reasons[i] ?? `no connection (state ${states[i]})`, failure: failures[i] }),
      (found) =>
        found.some((f) => /certificate|CERT_|self.signed|SSL|TLS|handshake/i.test(f.reason))
          ? 'The TLS handshake failed: the server certificate did not verify against tls.ca (or the client certificate was refused); check tls.ca, tls.cert, tls.key and tls.serverName'
          : 'Check that etcd runs there, the scheme (http/https) and TLS settings, or raise dialTimeoutMs',
      (ready, settled) => {
        const watch = (i: number) => {
          if (settled() || this.closed) return ready(i, this.closed ? new ClientClosedError() : undefined);
          const ch = this.client(i).getChannel();
          const s = ch.getConnectivityState(true);
          states[i] = grpc.connectivityState[s] ?? String(s);
          if (s === READY) return ready(i);
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
      },
    );
  }

  /** Learn why a failing channel fails: a call on it is refused at once with the last connection error. */
  private probe(i: number, report: (reason: string, err: Error) => void): void {
    const m = find('Maintenance', 'Status');
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

  private metadata(token: string | undefined, requireLeader?: boolean): grpc.Metadata {
    const md = new grpc.Metadata();
    if (token !== undefined) md.set('token', token);
    if (requireLeader) md.set('hasleader', 'true');
    return md;
  }

  unary<Req, Res>(i: number, service: ServiceName, name: string, req: Req, c: UnaryCall): Promise<Res> {
    const m = find(service, name);
    const md = this.metadata(c.token);
    const signal = c.signal;
    return new Promise<Res>((resolve, reject) => {
      const onAbort = () => call.cancel();
      let timedOut = false;
      let finished = false;
      let deadline: Deadline | undefined;
      const call = this.client(i).makeUnaryRequest<Req, Res>(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        req,
        md,
        // The deadline is kept by this transport (DeadlineQueue), not sent with the call.
        {},
        (err, res) => {
          finished = true;
          this.inflight.delete(call);
          if (deadline) this.deadlines.end(deadline);
          signal?.removeEventListener('abort', onAbort);
          if (timedOut && err) reject(deadlineExceeded(err));
          else if (err) reject(err);
          else resolve(res as Res);
        },
      );
      if (finished) return;
      deadline = this.deadlines.add(c.deadline, () => {
        timedOut = true;
        call.cancel();
      });
      this.inflight.add(call);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  serverStream<Req, Res>(
    i: number,
    service: ServiceName,
    name: string,
    req: Req,
    o: StreamOptions,
  ): ReadCall<Res> {
    const m = find(service, name);
    return this.client(i).makeServerStreamRequest<Req, Res>(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      req,
      this.metadata(o.token, o.requireLeader),
      {},
    ) as unknown as ReadCall<Res>;
  }

  bidi<Req, Res>(i: number, service: ServiceName, name: string, o: StreamOptions): StreamCall<Req, Res> {
    const m = find(service, name);
    return this.client(i).makeBidiStreamRequest<Req, Res>(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      this.metadata(o.token, o.requireLeader),
      {},
    );
  }

  close(): void {
    this.closed = true;
    this.deadlines.clear();
    for (const c of this.inflight) c.cancel();
    this.inflight.clear();
    for (const c of this.clients) c?.close();
  }
}

registerTransport('grpc', (endpoints, options) => new GrpcTransport(endpoints, options));
setTxnEncoder((r) => find('KV', 'Txn').requestSerialize(r).length);
