import {
  AuthFailedError,
  DeadlineExceededError,
  DialTimeoutError,
  EtcdError,
  InvalidTokenError,
  PermissionDeniedError,
  UnavailableError,
} from '@etcdkit/core';

/** Exit codes of every command (`lock` passes its command's own code through instead). */
export const EXIT_OK = 0;
/** The exit code of a command that failed. */
export const EXIT_FAILURE = 1;
/** The exit code of a wrong command line (a {@link UsageError}). */
export const EXIT_USAGE = 2;

/** The command line is wrong: unknown flag, missing argument, bad value. Exit code 2. */
export class UsageError extends EtcdError {
  declare readonly code: 'USAGE';
  /** The command whose help explains the right usage ('' for the top level). */
  readonly command: string;
  /** `command`: the command whose help explains the right usage ('' for the top level). */
  constructor(message: string, command = '', options?: { cause?: unknown }) {
    super('USAGE', message, options);
    this.command = command;
  }
}

/** A failure whose message already says what happened and what to do. Exit code 1 unless given. */
export class CliError extends EtcdError {
  declare readonly code: 'CLI';
  /** The exit code to leave with. */
  readonly exitCode: number;
  /** `exitCode` defaults to {@link EXIT_FAILURE}. */
  constructor(message: string, options?: { cause?: unknown; exitCode?: number }) {
    super('CLI', message, options);
    this.exitCode = options?.exitCode ?? EXIT_FAILURE;
  }
}

/** What the error report needs to know about the invocation. */
export interface ErrorContext {
  endpoints: readonly string[];
  user?: string | undefined;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Why etcd could not be reached: the per-endpoint reasons of a dial timeout, else the message. */
export function dialReason(err: Error): string {
  if (!(err instanceof DialTimeoutError)) return err.message;
  const one = err.attempts.length === 1;
  return err.attempts.map((a) => (one ? a.reason : `${a.endpoint}: ${a.reason}`)).join('; ');
}

/** `etcdkit: ...`: one line saying what failed and what to do. */
export function describeError(err: unknown, ctx: ErrorContext): string {
  const at = ctx.endpoints.join(',');
  let text: string;
  if (err instanceof UsageError) {
    const help = err.command ? `etcdkit ${err.command} --help` : 'etcdkit --help';
    text = `${err.message}; see \`${help}\``;
  } else if (err instanceof CliError) {
    text = err.message;
  } else if (err instanceof UnavailableError || err instanceof DeadlineExceededError) {
    const reason = dialReason(err);
    text = `cannot reach etcd at ${at} (${reason}). Start one with \`etcdkit dev\` or pass --endpoints (-e).`;
  } else if (err instanceof AuthFailedError || err instanceof InvalidTokenError) {
    text =
      ctx.user === undefined
        ? `etcd at ${at} requires authentication: pass --user name:password (or --user name with ETCDKIT_PASSWORD)`
        : `authentication failed for user ${JSON.stringify(ctx.user)} at ${at}: check --user (name:password; or ETCDCTL_USER) and ETCDKIT_PASSWORD (or ETCDCTL_PASSWORD)`;
  } else if (err instanceof PermissionDeniedError) {
    text = `permission denied: ${err.message}; grant the user a role that allows it, or use another --user`;
  } else if (err instanceof Error) {
    text = err.message || err.name;
  } else {
    text = String(err);
  }
  return `etcdkit: ${oneLine(text)}`;
}

/**
 * The error as one JSON line for --json: `{"error":{"code","name","message"}}`, the message
 * being the one-line text (without its `etcdkit: ` prefix). Errors that are not etcdkit's have
 * the code UNKNOWN.
 */
export function describeErrorJson(err: unknown, ctx: ErrorContext): string {
  const message = describeError(err, ctx).replace(/^etcdkit: /, '');
  const code = err instanceof EtcdError ? err.code : 'UNKNOWN';
  const name = err instanceof Error ? err.name : 'Error';
  return JSON.stringify({ error: { code, name, message } });
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT_USAGE;
  if (err instanceof CliError) return err.exitCode;
  return EXIT_FAILURE;
}
