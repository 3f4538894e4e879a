import { UsageError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration flag in milliseconds: a plain number is seconds (`--ttl 10`, `--timeout 1.5`),
 * or a number with a unit as etcdctl writes them (`500ms`, `2s`, `1m`, `1h`).
 */
export function parseDuration(text: string, flag: string, command: string): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!m)
    throw new UsageError(
      `--${flag} takes a duration such as 10, 1.5, 500ms, 2s or 1m (seconds when no unit), got ${JSON.stringify(text)}`,
      command,
    );
  return Number(m[1]) * UNITS[m[2] ?? 's']!;
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
