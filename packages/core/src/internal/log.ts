import { debuglog, inspect } from 'node:util';

/**
 * What the `logger` option takes: the shape of pino, bunyan and console (`console` itself
 * works). etcdkit calls `logger.warn({ endpoint }, 'etcd connection lost')` and the like.
 */
export interface Logger {
  /**
   * Detail for debugging. `obj` holds the line's fields: what it is about (`endpoint`, `err`,
   * ...), `condition` (the key of its rate window) and, when repeats were left out since the
   * last line of that condition, `suppressed` (how many); `msg` is the sentence. etcdkit
   * itself writes at info and warn.
   */
  debug(obj: object, msg?: string): void;
  /** A change worth knowing, e.g. a connection to an endpoint became ready. Arguments as for `debug`. */
  info(obj: object, msg?: string): void;
  /**
   * Something went wrong: a connection lost, a failover, a retry with backoff,
   * a lock or leadership lost, an error nobody listened to. Arguments as for `debug`.
   */
  warn(obj: object, msg?: string): void;
  /** A failure that cannot be made good by retrying. Arguments as for `debug`. */
  error(obj: object, msg?: string): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One rate window per condition: a condition repeating within it is counted, not logged. */
export const DEFAULT_LOG_INTERVAL_MS = 30_000;

const nodeDebug = debuglog('etcdkit');

/**
 * etcdkit's own lines, for what is worth one: a failover, a session lost, a retry with backoff.
 * Each line names a condition (e.g. `retry:KV.Range`); within `intervalMs` of a condition's
 * last line, its repeats are only counted, and the next line says how many were left out
 * (`suppressed`). Without a logger nothing is printed, unless NODE_DEBUG=etcdkit.
 */
export class Log {
  private readonly logger: Logger | undefined;
  private readonly intervalMs: number;
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(logger: Logger | undefined, intervalMs = DEFAULT_LOG_INTERVAL_MS) {
    this.logger = logger;
    this.intervalMs = intervalMs;
  }

  /** Whether a line would go anywhere: skip building it otherwise. */
  get enabled(): boolean {
    return this.logger !== undefined || nodeDebug.enabled;
  }

  debug(condition: string, obj: Record<string, unknown>, msg: string): void {
    this.write('debug', condition, obj, msg);
  }

  info(condition: string, obj: Record<string, unknown>, msg: string): void {
    this.write('info', condition, obj, msg);
  }

  warn(condition: string, obj: Record<string, unknown>, msg: string): void {
    this.write('warn', condition, obj, msg);
  }

  error(condition: string, obj: Record<string, unknown>, msg: string): void {
    this.write('error', condition, obj, msg);
  }

  private write(level: LogLevel, condition: string, obj: Record<string, unknown>, msg: string): void {
    if (!this.enabled) return;
    const now = Date.now();
    const seen = this.last.get(condition);
    if (seen && now - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    const line: Record<string, unknown> = { ...obj, condition };
    if (seen && seen.suppressed > 0) line.suppressed = seen.suppressed;
    this.last.set(condition, { at: now, suppressed: 0 });
    // Conditions are few (per endpoint, operation, lock name); forget stale ones all the same.
    if (this.last.size > 1000)
      for (const [k, v] of this.last) if (now - v.at >= this.intervalMs) this.last.delete(k);
    if (this.logger) {
      try {
        this.logger[level](line, msg);
      } catch {
        // A failing logger must not break the client; there is nowhere left to report it.
      }
    } else nodeDebug('%s %s %s', level, msg, inspect(line, { breakLength: Number.POSITIVE_INFINITY }));
  }
}

/** Check the `logger` option: an object with debug, info, warn and error functions. */
export function isLogger(v: unknown): v is Logger {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return ['debug', 'info', 'warn', 'error'].every((k) => typeof o[k] === 'function');
}

const logs = new WeakMap<object, Log>();

/** The Log of a client (shared by its namespace views), or of anything bound to one. */
export function bindLog(owner: object, log: Log): void {
  logs.set(owner, log);
}

const silent = new Log(undefined);

/** The Log bound to `owner` (an Etcd client or its options); a silent one when none is. */
export function logOf(owner: object | undefined): Log {
  return (owner && logs.get(owner)) ?? silent;
}
