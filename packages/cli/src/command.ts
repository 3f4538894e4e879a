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
  endpoints: { type: 'string' },
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

/** The user name and password of --user: `name:password`, or `name` with ETCDKIT_PASSWORD. */
export function parseUser(
  text: string,
  env: NodeJS.ProcessEnv,
  command: string,
): { username: string; password: string } {
  const i = text.indexOf(':');
  const username = i < 0 ? text : text.slice(0, i);
  if (!username) throw new UsageError('--user needs a user name: --user name:password', command);
  if (i >= 0) return { username, password: text.slice(i + 1) };
  const password = env.ETCDKIT_PASSWORD;
  if (password === undefined)
    throw new UsageError(
      `no password for user ${JSON.stringify(username)}: pass --user name:password or set ETCDKIT_PASSWORD`,
      command,
    );
  return { username, password };
}

function readPem(file: string, flag: string, command: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UsageError(`cannot read the --${flag} file ${JSON.stringify(file)} (${code})`, command, {
      cause: err,
    });
  }
}

/** The endpoints the client will use, for messages (the same resolution as the client's). */
export function endpointsOf(values: OptionValues): string[] {
  const given = values.endpoints;
  return defaults(typeof given === 'string' ? { endpoints: given } : {}).endpoints;
}

/** Client options from the global flags; throws UsageError for bad values. */
export function clientOptions(values: OptionValues, command: string, env = process.env): EtcdOptions {
  let endpoints: string[];
  try {
    endpoints = endpointsOf(values);
  } catch (err) {
    // core names the option (endpoints[0], ETCD_ENDPOINTS[1]); here it is the flag.
    const message = (err as Error).message.replace(/^endpoints(?=[[ ])/, '--endpoints');
    throw new UsageError(message, command, { cause: err });
  }
  if (endpoints.length === 0 || endpoints.some((e) => e === ''))
    throw new UsageError('--endpoints needs host:port entries, comma separated', command);
  const opts: EtcdOptions = {
    endpoints,
    dialTimeoutMs: parseDuration(
      (values['dial-timeout'] as string | undefined) ?? '2s',
      'dial-timeout',
      command,
    ),
  };
  const { cacert, cert, key, user, namespace } = values as Record<string, string | undefined>;
  if ((cert === undefined) !== (key === undefined))
    throw new UsageError('--cert and --key go together: pass both or neither', command);
  if (cacert !== undefined || cert !== undefined) {
    const tls: TlsOptions = {};
    if (cacert !== undefined) tls.ca = readPem(cacert, 'cacert', command);
    if (cert !== undefined) tls.cert = readPem(cert, 'cert', command);
    if (key !== undefined) tls.key = readPem(key, 'key', command);
    opts.tls = tls;
  }
  if (user !== undefined) opts.auth = parseUser(user, env, command);
  if (namespace !== undefined) {
    if (namespace === '') throw new UsageError('--namespace must not be empty', command);
    opts.namespace = namespace;
  }
  return opts;
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
