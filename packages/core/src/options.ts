/** TLS material: PEM strings or Buffers (file contents, not paths). */
export interface TlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Name to verify the server certificate against, when it differs from the endpoint host. */
  serverName?: string;
}

export interface EtcdOptions {
  /** `host:port`, `http://host:port` or `https://host:port`. Default: ETCD_ENDPOINTS (comma separated) or 127.0.0.1:2379. */
  endpoints?: string[] | string;
  tls?: TlsOptions;
  auth?: { username: string; password: string };
  /** Key prefix applied to every key of this client (see `etcd.namespace()`). */
  namespace?: string;
  /** How long to wait for a connection to some endpoint before failing. Default 5000. */
  dialTimeoutMs?: number;
  /** Default timeout of a unary call, including its retries. Default 10000. */
  requestTimeoutMs?: number;
  /** Retries of calls that are safe to repeat. Default 5. */
  retries?: number;
  /** gRPC keepalive ping interval on a connection with open streams. etcd refuses pings under 5 s. Default 10000. */
  keepaliveTimeMs?: number;
  /** How long to wait for a ping's answer before the connection is considered dead. Default 5000. */
  keepaliveTimeoutMs?: number;
  /** Largest request etcdkit sends; mirrors etcd's --max-request-bytes. Default 1.5 MiB. */
  maxRequestBytes?: number;
  /** Margin before a lease's local deadline at which it is declared lost. Default: min(1000, ttl/10) ms. */
  leaseSafetyMarginMs?: number;
  /** Every so often, add the client URLs of the cluster's members to the endpoints. Off by default. */
  autoSyncIntervalMs?: number;
  /** Per-watcher queue length at which the watcher is paused server-side until its consumer catches up. Default 10000. */
  watchHighWaterMark?: number;
}

export interface ResolvedOptions {
  endpoints: string[];
  tls: TlsOptions | undefined;
  auth: { username: string; password: string } | undefined;
  namespace: string;
  dialTimeoutMs: number;
  requestTimeoutMs: number;
  retries: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  maxRequestBytes: number;
  leaseSafetyMarginMs: number | undefined;
  watchHighWaterMark: number;
  autoSyncIntervalMs: number | undefined;
}

/** Every default in one place. */
export function defaults(options: EtcdOptions = {}): ResolvedOptions {
  const fromEnv = process.env.ETCD_ENDPOINTS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const endpoints =
    typeof options.endpoints === 'string'
      ? options.endpoints.split(',').map((s) => s.trim())
      : (options.endpoints ?? (fromEnv?.length ? fromEnv : ['127.0.0.1:2379']));
  return {
    endpoints,
    tls: options.tls,
    auth: options.auth,
    namespace: options.namespace ?? '',
    dialTimeoutMs: options.dialTimeoutMs ?? 5000,
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    retries: options.retries ?? 5,
    keepaliveTimeMs: options.keepaliveTimeMs ?? 10_000,
    keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? 5000,
    maxRequestBytes: options.maxRequestBytes ?? 1.5 * 1024 * 1024,
    leaseSafetyMarginMs: options.leaseSafetyMarginMs,
    watchHighWaterMark: options.watchHighWaterMark ?? 10_000,
    autoSyncIntervalMs: options.autoSyncIntervalMs,
  };
}
