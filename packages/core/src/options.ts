import { InvalidArgumentError } from './errors.js';
import { checkEndpoint } from './internal/endpoint.js';
import { DEFAULT_LOG_INTERVAL_MS, isLogger, type Logger } from './internal/log.js';

/** TLS material: PEM strings or Buffers (file contents, not paths). */
export interface TlsOptions {
  /** CA certificate(s) to verify the server with; default: the system CAs. */
  ca?: string | Buffer;
  /** Client certificate, for mutual TLS (with `key`). */
  cert?: string | Buffer;
  /** Private key of the client certificate. */
  key?: string | Buffer;
  /** Name to verify the server certificate against, when it differs from the endpoint host. */
  serverName?: string;
}

/**
 * Options of `new Etcd(options)`. Every option is checked at creation: a bad one throws an {@link
 * InvalidArgumentError} there, not at the first call.
 */
export interface EtcdOptions {
  /** `host:port`, `http://host:port` or `https://host:port`. Default: ETCD_ENDPOINTS (comma separated) or 127.0.0.1:2379. */
  endpoints?: string[] | string;
  /** TLS for every endpoint (`https://` endpoints without it use the system CAs). */
  tls?: TlsOptions;
  /**
   * User name and password: the client fetches a token, attaches it to every call and stream, and
   * renews it when etcd rejects it.
   */
  auth?: {
    /** The etcd user. */
    username: string;
    /** Its password. */
    password: string;
  };
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
  /**
   * How long the shared Watch stream stays open after its last watch closes, so that the next
   * watch (a lock wait, a mirror restart) need not open a new one. It never keeps the process
   * alive, and close() ends it at once. Default 30000; 0 closes it with the last watch.
   */
  watchStreamIdleMs?: number;
  /**
   * Where etcdkit writes what is worth a line (failover, session lost, retrying with backoff,
   * errors nobody listened to): any object with debug/info/warn/error(obj, msg), such as pino or
   * `console`. Each condition is logged at most once per `logIntervalMs`. Default: nothing is
   * printed (NODE_DEBUG=etcdkit prints the lines to stderr).
   */
  logger?: Logger;
  /** The rate window of the logger, per condition. Default 30000. */
  logIntervalMs?: number;
}

/** {@link EtcdOptions} with every default filled in, as {@link defaults} returns them. */
export interface ResolvedOptions {
  /** The endpoints, parsed from the option or ETCD_ENDPOINTS. */
  endpoints: string[];
  /** See {@link EtcdOptions.tls}. */
  tls: TlsOptions | undefined;
  /** See {@link EtcdOptions.auth}. */
  auth:
    | {
        /** The etcd user. */
        username: string;
        /** Its password. */
        password: string;
      }
    | undefined;
  /** See {@link EtcdOptions.namespace}; '' when none. */
  namespace: string;
  /** See {@link EtcdOptions.dialTimeoutMs}. */
  dialTimeoutMs: number;
  /** See {@link EtcdOptions.requestTimeoutMs}. */
  requestTimeoutMs: number;
  /** See {@link EtcdOptions.retries}. */
  retries: number;
  /** See {@link EtcdOptions.keepaliveTimeMs}. */
  keepaliveTimeMs: number;
  /** See {@link EtcdOptions.keepaliveTimeoutMs}. */
  keepaliveTimeoutMs: number;
  /** See {@link EtcdOptions.maxRequestBytes}. */
  maxRequestBytes: number;
  /** See {@link EtcdOptions.leaseSafetyMarginMs}; `undefined`: per lease, min(1000, ttl/10) ms. */
  leaseSafetyMarginMs: number | undefined;
  /** See {@link EtcdOptions.watchHighWaterMark}. */
  watchHighWaterMark: number;
  /** See {@link EtcdOptions.watchStreamIdleMs}. */
  watchStreamIdleMs: number;
  /** See {@link EtcdOptions.autoSyncIntervalMs}; `undefined`: off. */
  autoSyncIntervalMs: number | undefined;
  /** See {@link EtcdOptions.logger}; `undefined`: no logger (NODE_DEBUG=etcdkit still prints). */
  logger: Logger | undefined;
  /** See {@link EtcdOptions.logIntervalMs}. */
  logIntervalMs: number;
}

/** The largest delay Node's timers accept (2^31-1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const OPTION_NAMES: readonly (keyof EtcdOptions)[] = [
  'endpoints',
  'tls',
  'auth',
  'namespace',
  'dialTimeoutMs',
  'requestTimeoutMs',
  'retries',
  'keepaliveTimeMs',
  'keepaliveTimeoutMs',
  'maxRequestBytes',
  'leaseSafetyMarginMs',
  'autoSyncIntervalMs',
  'watchHighWaterMark',
  'watchStreamIdleMs',
  'logger',
  'logIntervalMs',
];

function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return Array.isArray(v) ? 'an array' : typeof v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** Refuse names not in `known`: a misspelt option must not pass silently. */
function checkKeys(o: Record<string, unknown>, known: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (known.includes(k)) continue;
    const near = known.find((n) => n.toLowerCase().startsWith(k.toLowerCase().slice(0, 4)));
    throw new InvalidArgumentError(
      `${where}: unknown option ${JSON.stringify(k)}` +
        (near ? ` (did you mean ${JSON.stringify(near)}?)` : '') +
        `; accepted: ${known.join(', ')}`,
    );
  }
}

/** A delay or timeout in ms: finite, > 0 (or >= 0 when `zero`), within the timer limit. */
function ms(name: string, v: unknown, fallback: number, zero = false): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || (zero ? v < 0 : v <= 0) || v > MAX_TIMER_MS)
    throw new InvalidArgumentError(
      `${name} must be a number of milliseconds ${zero ? '>= 0' : '> 0'} and <= ${MAX_TIMER_MS} (about 24.8 days), got ${shown(v)}`,
    );
  return v;
}

/** A whole number from `min` to `max`. */
function whole(name: string, v: unknown, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, got ${shown(v)}`);
  return v;
}

function endpointList(v: unknown): string[] {
  const fromEnv = process.env.ETCD_ENDPOINTS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  let list: string[];
  let name = 'endpoints';
  if (v === undefined) {
    if (fromEnv?.length) name = 'ETCD_ENDPOINTS';
    list = fromEnv?.length ? fromEnv : ['127.0.0.1:2379'];
  } else if (typeof v === 'string') {
    list = v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  } else if (Array.isArray(v)) {
    list = v.map((e, i) => {
      if (typeof e !== 'string' || e.trim() === '')
        throw new InvalidArgumentError(
          `endpoints[${i}] must be a non-empty string (host:port, http://host:port or https://host:port), got ${shown(e)}`,
        );
      return e.trim();
    });
  } else
    throw new InvalidArgumentError(
      `endpoints must be an array of strings or one comma-separated string (host:port, http://host:port or https://host:port), got ${shown(v)}`,
    );
  if (list.length === 0)
    throw new InvalidArgumentError(`${name} must name at least one endpoint (host:port)`);
  const schemes = new Set(list.map((e, i) => checkEndpoint(e, `${name}[${i}]`).scheme === 'https'));
  if (schemes.size > 1)
    throw new InvalidArgumentError(`${name} mix http:// and https://; use one scheme for all`);
  return list;
}

function pemOption(name: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'string' && !(v instanceof Uint8Array))
    throw new InvalidArgumentError(
      `${name} must be PEM text (a string) or its bytes (a Buffer) — the contents, not a path; got ${shown(v)}`,
    );
}

function tlsOption(v: unknown): TlsOptions | undefined {
  if (v === undefined) return undefined;
  if (!isPlainObject(v))
    throw new InvalidArgumentError(
      `tls must be an object { ca?, cert?, key?, serverName? }, got ${shown(v)}`,
    );
  checkKeys(v, ['ca', 'cert', 'key', 'serverName'], 'tls');
  pemOption('tls.ca', v.ca);
  pemOption('tls.cert', v.cert);
  pemOption('tls.key', v.key);
  if ((v.cert === undefined) !== (v.key === undefined))
    throw new InvalidArgumentError(
      'tls.cert and tls.key go together: give both (a client certificate) or neither',
    );
  if (v.serverName !== undefined && (typeof v.serverName !== 'string' || v.serverName === ''))
    throw new InvalidArgumentError(`tls.serverName must be a non-empty string, got ${shown(v.serverName)}`);
  return v as TlsOptions;
}

function authOption(v: unknown): ResolvedOptions['auth'] {
  if (v === undefined) return undefined;
  if (!isPlainObject(v))
    throw new InvalidArgumentError(`auth must be an object { username, password }, got ${shown(v)}`);
  checkKeys(v, ['username', 'password'], 'auth');
  if (typeof v.username !== 'string' || v.username === '')
    throw new InvalidArgumentError(`auth.username must be a non-empty string, got ${shown(v.username)}`);
  if (typeof v.password !== 'string')
    throw new InvalidArgumentError(`auth.password must be a string, got ${shown(v.password)}`);
  return { username: v.username, password: v.password };
}

/**
 * Every default in one place, and every option checked: a wrong type, a value out of range or
 * an unknown name is an InvalidArgumentError naming the option and what it accepts.
 */
export function defaults(options: EtcdOptions = {}): ResolvedOptions {
  if (!isPlainObject(options))
    throw new InvalidArgumentError(`Etcd options must be an object, got ${shown(options)}`);
  const o = options as Record<string, unknown>;
  checkKeys(o, OPTION_NAMES, 'Etcd options');
  if (o.logger !== undefined && !isLogger(o.logger))
    throw new InvalidArgumentError(
      'logger must be an object with debug, info, warn and error methods (obj, msg), such as pino or console',
    );
  if (o.namespace !== undefined && typeof o.namespace !== 'string')
    throw new InvalidArgumentError(`namespace must be a string (a key prefix), got ${shown(o.namespace)}`);
  return {
    endpoints: endpointList(o.endpoints),
    tls: tlsOption(o.tls),
    auth: authOption(o.auth),
    namespace: (o.namespace as string | undefined) ?? '',
    dialTimeoutMs: ms('dialTimeoutMs', o.dialTimeoutMs, 5000),
    requestTimeoutMs: ms('requestTimeoutMs', o.requestTimeoutMs, 10_000),
    retries: whole('retries', o.retries, 5, 0, 1000),
    keepaliveTimeMs: ms('keepaliveTimeMs', o.keepaliveTimeMs, 10_000),
    keepaliveTimeoutMs: ms('keepaliveTimeoutMs', o.keepaliveTimeoutMs, 5000),
    maxRequestBytes: whole('maxRequestBytes', o.maxRequestBytes, 1.5 * 1024 * 1024, 1, 2 ** 31 - 1),
    leaseSafetyMarginMs:
      o.leaseSafetyMarginMs === undefined
        ? undefined
        : ms('leaseSafetyMarginMs', o.leaseSafetyMarginMs, 0, true),
    watchHighWaterMark: whole('watchHighWaterMark', o.watchHighWaterMark, 10_000, 1, 2 ** 31 - 1),
    watchStreamIdleMs: whole('watchStreamIdleMs', o.watchStreamIdleMs, 30_000, 0, 2 ** 31 - 1),
    autoSyncIntervalMs:
      o.autoSyncIntervalMs === undefined ? undefined : ms('autoSyncIntervalMs', o.autoSyncIntervalMs, 0),
    logger: o.logger as Logger | undefined,
    logIntervalMs: ms('logIntervalMs', o.logIntervalMs, DEFAULT_LOG_INTERVAL_MS, true),
  };
}
