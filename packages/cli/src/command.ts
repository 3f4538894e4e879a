import { readFileSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { defaults, Etcd, type EtcdOptions, type TlsOptions } from '@etcdkit/core';
import { parseDuration } from './durations.js';
import { UsageError } from './errors.js';
import type { Output } from './output.js';

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
/**
 * Parsed option values by name, as `node:util` parseArgs returns them.
 *
 * @inline
 */
export type OptionValues = Record<string, string | boolean | undefined>;

/** Options every command takes, before or after the command name. */
export const GLOBAL_OPTIONS = {
  endpoints: { type: 'string', short: 'e' },
  cacert: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  user: { type: 'string' },
  namespace: { type: 'string' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  'dial-timeout': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionsConfig;

export { GLOBAL_HELP } from './top-help.js';

/** What a command receives. */
export interface Invocation {
  /** The command name, e.g. `lock`. */
  command: string;
  /** The positional arguments after the command name (before `--`). */
  positionals: string[];
  /** Global and command options, as parsed. */
  values: OptionValues;
  /** The arguments after `--`, or undefined when there was no `--`. */
  rest: string[] | undefined;
  /** True under `--json`: print machine-readable lines. */
  json: boolean;
  /** Where to write: result lines to stdout, notices to stderr. */
  out: Output;
  /** A client for the global options; created on first use and closed by main. */
  client(): Etcd;
}

/** One `etcdkit` subcommand: its name, help and options, and what it runs. */
export interface Command {
  /** The word that selects it, e.g. `lock`. */
  name: string;
  /** One line for `etcdkit --help`. */
  summary: string;
  /** The full help text of `etcdkit <name> --help`, global options excepted. */
  help: string;
  /** Its options, in the shape of `node:util` parseArgs (the global ones are added). */
  options: OptionsConfig;
  /** Resolves with the exit code. */
  run(inv: Invocation): Promise<number>;
}

/**
 * A connection setting: a flag's value, else an environment variable's (etcdctl's, so that an
 * operator's etcdctl setup carries over), with where it came from for messages.
 */
interface Setting {
  value: string;
  /** `--cacert` or `ETCDCTL_CACERT`. */
  from: string;
}

/** The etcdctl variable under each flag (flags win; empty variables count as unset). */
export const ETCDCTL_VARIABLES = {
  endpoints: 'ETCDCTL_ENDPOINTS',
  cacert: 'ETCDCTL_CACERT',
  cert: 'ETCDCTL_CERT',
  key: 'ETCDCTL_KEY',
  user: 'ETCDCTL_USER',
  'dial-timeout': 'ETCDCTL_DIAL_TIMEOUT',
} as const;

function setting(
  values: OptionValues,
  flag: keyof typeof ETCDCTL_VARIABLES,
  env: NodeJS.ProcessEnv,
): Setting | undefined {
  const given = values[flag];
  if (typeof given === 'string') return { value: given, from: `--${flag}` };
  const name = ETCDCTL_VARIABLES[flag];
  const v = env[name];
  return v ? { value: v, from: name } : undefined;
}

/**
 * The user name and password of --user (or ETCDCTL_USER): `name:password`, or `name` with the
 * password in ETCDKIT_PASSWORD or ETCDCTL_PASSWORD.
 */
export function parseUser(
  text: string,
  env: NodeJS.ProcessEnv,
  command: string,
  from = '--user',
): { username: string; password: string } {
  const i = text.indexOf(':');
  const username = i < 0 ? text : text.slice(0, i);
  if (!username) throw new UsageError(`${from} needs a user name: name:password`, command);
  if (i >= 0) return { username, password: text.slice(i + 1) };
  const password = env.ETCDKIT_PASSWORD ?? env.ETCDCTL_PASSWORD;
  if (password === undefined)
    throw new UsageError(
      `no password for user ${JSON.stringify(username)} (from ${from}): pass --user name:password or set ETCDKIT_PASSWORD`,
      command,
    );
  return { username, password };
}

function readPem(s: Setting, command: string): Buffer {
  try {
    return readFileSync(s.value);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UsageError(`cannot read the ${s.from} file ${JSON.stringify(s.value)} (${code})`, command, {
      cause: err,
    });
  }
}

/**
 * The endpoints the client will use: --endpoints, else ETCD_ENDPOINTS (etcdkit's own, which
 * `etcdkit dev` prints), else ETCDCTL_ENDPOINTS, else 127.0.0.1:2379.
 */
export function endpointsOf(values: OptionValues, env = process.env): string[] {
  const given = typeof values.endpoints === 'string' ? values.endpoints : undefined;
  const fromEnv = env.ETCD_ENDPOINTS ? env.ETCD_ENDPOINTS : env.ETCDCTL_ENDPOINTS || undefined;
  return defaults({ endpoints: given ?? fromEnv ?? '127.0.0.1:2379' }).endpoints;
}

/** Which setting named the endpoints, for messages. */
function endpointsFrom(values: OptionValues, env: NodeJS.ProcessEnv): string {
  if (typeof values.endpoints === 'string') return '--endpoints';
  if (env.ETCD_ENDPOINTS) return 'ETCD_ENDPOINTS';
  return env.ETCDCTL_ENDPOINTS ? 'ETCDCTL_ENDPOINTS' : '--endpoints';
}

/** etcdctl's boolean variables: "true", "1", ... (Go's strconv.ParseBool). */
function envFlag(v: string | undefined): boolean {
  return v !== undefined && /^(1|t|true)$/i.test(v.trim());
}

/**
 * Client options from the global flags, with etcdctl's variables under them; throws UsageError
 * for bad values.
 */
export function clientOptions(values: OptionValues, command: string, env = process.env): EtcdOptions {
  let endpoints: string[];
  try {
    endpoints = endpointsOf(values, env);
  } catch (err) {
    // core names the option (endpoints[0]); here it is the flag or the variable.
    const message = (err as Error).message.replace(/^endpoints(?=[[ ])/, endpointsFrom(values, env));
    throw new UsageError(message, command, { cause: err });
  }
  if (endpoints.length === 0 || endpoints.some((e) => e === ''))
    throw new UsageError(`${endpointsFrom(values, env)} needs host:port entries, comma separated`, command);
  const dial = setting(values, 'dial-timeout', env);
  const opts: EtcdOptions = {
    endpoints,
    dialTimeoutMs: dial ? parseDuration(dial.value, 'dial-timeout', command, dial.from) : 2000,
  };
  const cacert = setting(values, 'cacert', env);
  const cert = setting(values, 'cert', env);
  const key = setting(values, 'key', env);
  const user = setting(values, 'user', env);
  const { namespace } = values as Record<string, string | undefined>;
  if ((cert === undefined) !== (key === undefined))
    throw new UsageError(
      `${cert?.from ?? key?.from} needs ${cert ? '--key (or ETCDCTL_KEY)' : '--cert (or ETCDCTL_CERT)'}: a client certificate and its key go together`,
      command,
    );
  if (cacert !== undefined || cert !== undefined) {
    const tls: TlsOptions = {};
    if (cacert !== undefined) tls.ca = readPem(cacert, command);
    if (cert !== undefined) tls.cert = readPem(cert, command);
    if (key !== undefined) tls.key = readPem(key, command);
    opts.tls = tls;
  }
  const tlsInUse = opts.tls !== undefined || endpoints.some((e) => e.startsWith('https://'));
  if (tlsInUse && envFlag(env.ETCDCTL_INSECURE_SKIP_TLS_VERIFY))
    throw new UsageError(
      'ETCDCTL_INSECURE_SKIP_TLS_VERIFY is set, but etcdkit always verifies the server certificate: pass the CA that signed it with --cacert (or ETCDCTL_CACERT), or unset the variable',
      command,
    );
  if (user !== undefined) opts.auth = parseUser(user.value, env, command, user.from);
  if (namespace !== undefined) {
    if (namespace === '') throw new UsageError('--namespace must not be empty', command);
    opts.namespace = namespace;
  }
  return opts;
}

/** The user name given (flag or ETCDCTL_USER), for messages. */
export function userOf(values: OptionValues, env = process.env): string | undefined {
  return setting(values, 'user', env)?.value.split(':')[0];
}

/** A client for the global flags; bad endpoints are a usage error. */
export function createClient(values: OptionValues, command: string): Etcd {
  const opts = clientOptions(values, command);
  try {
    return new Etcd(opts);
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^etcdkit: /, ''), command, { cause: err });
  }
}

/** A required positional argument. */
export function required(inv: Invocation, index: number, what: string): string {
  const v = inv.positionals[index];
  if (v === undefined || v === '') throw new UsageError(`${inv.command} needs ${what}`, inv.command);
  return v;
}

/** Refuse positionals beyond `count`. */
export function noMore(inv: Invocation, count: number): void {
  const extra = inv.positionals.slice(count);
  if (extra.length)
    throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])} for ${inv.command}`, inv.command);
}
