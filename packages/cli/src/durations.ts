import { UsageError } from './errors.js';

// Go's time.ParseDuration units, as etcdctl takes them (`--command-timeout=1m30s`).
const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const NUMBER = String.raw`(?:\d+(?:\.\d*)?|\.\d+)`;
const PLAIN = new RegExp(`^${NUMBER}$`);
const GO = new RegExp(`^(?:${NUMBER}(?:ns|us|µs|μs|ms|s|m|h))+$`);
const PART = new RegExp(`(${NUMBER})(ns|us|µs|μs|ms|s|m|h)`, 'g');

/** The longest timer Node keeps (setTimeout's limit, 2^31 - 1 ms, about 24.8 days). */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/**
 * A duration flag in milliseconds: a plain number is seconds (`--ttl 10`, `--timeout 1.5`), or
 * a Go duration as etcdctl takes them (`500ms`, `2s`, `1m30s`, `1h`, `1.5h`). `from` names
 * where the text came from in messages (a flag, or an environment variable).
 */
export function parseDuration(text: string, flag: string, command: string, from = `--${flag}`): number {
  const t = text.trim();
  let ms: number;
  if (PLAIN.test(t)) ms = Number(t) * 1000;
  else if (GO.test(t)) {
    ms = 0;
    for (const [, n, unit] of t.matchAll(PART)) ms += Number(n) * UNITS[unit!]!;
  } else
    throw new UsageError(
      `${from} takes a duration such as 10, 1.5, 500ms, 2s or 1m30s (seconds when no unit), got ${JSON.stringify(text)}`,
      command,
    );
  if (!(ms <= MAX_DURATION_MS))
    throw new UsageError(
      `${from} must be at most 24 days (${MAX_DURATION_MS} ms), got ${JSON.stringify(text)}`,
      command,
    );
  return ms;
}

/** A lease TTL: whole seconds >= 1 (etcd leases have a granularity of one second). */
export function parseTtl(text: string, flag: string, command: string): number {
  const ms = parseDuration(text, flag, command);
  const s = ms / 1000;
  if (!Number.isInteger(s) || s < 1)
    throw new UsageError(
      `--${flag} must be a whole number of seconds >= 1, got ${JSON.stringify(text)}`,
      command,
    );
  return s;
}

/** A whole number flag within [min, max]. */
export function parseCount(text: string, flag: string, command: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min || n > max)
    throw new UsageError(
      `--${flag} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`,
      command,
    );
  return n;
}
