import type { Decoder } from './decoders.js';
import type { StandardSchemaIssue, StandardSchemaResult, StandardSchemaV1 } from './standard-schema.js';

/** The outcome of decoding and validating one raw value. */
export type Checked<T> =
  | { ok: true; value: T }
  | { ok: false; reason: string; issues?: readonly StandardSchemaIssue[]; cause?: unknown };

/** decode, then validate, then freeze: what every value read from etcd or a file goes through. */
export class ValuePipeline<T> {
  constructor(
    private readonly decode: Decoder<unknown>,
    private readonly schema: StandardSchemaV1 | undefined,
    private readonly freeze: boolean,
  ) {}

  /** Synchronous unless the schema validates asynchronously. */
  check(raw: Buffer, key: string): Checked<T> | Promise<Checked<T>> {
    let decoded: unknown;
    try {
      decoded = this.decode(raw, key);
    } catch (cause) {
      return { ok: false, reason: `could not decode: ${message(cause)}`, cause };
    }
    if (!this.schema) return this.accept(decoded);
    let result: StandardSchemaResult<unknown> | Promise<StandardSchemaResult<unknown>>;
    try {
      result = this.schema['~standard'].validate(decoded);
    } catch (cause) {
      return { ok: false, reason: `the schema threw: ${message(cause)}`, cause };
    }
    if (isPromise(result))
      return result.then(
        (r) => this.validated(r),
        (cause: unknown) => ({ ok: false, reason: `the schema threw: ${message(cause)}`, cause }),
      );
    return this.validated(result);
  }

  /** A value given by the caller (initial defaults): only frozen. */
  adopt(value: T): T {
    return this.freeze ? deepFreeze(value) : value;
  }

  private validated(r: StandardSchemaResult<unknown>): Checked<T> {
    if (r.issues)
      return { ok: false, reason: `failed validation: ${formatIssues(r.issues)}`, issues: r.issues };
    return this.accept(r.value);
  }

  private accept(value: unknown): Checked<T> {
    return { ok: true, value: (this.freeze ? deepFreeze(value) : value) as T };
  }
}

export function isPromise<V>(v: V | Promise<V>): v is Promise<V> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function formatIssues(issues: readonly StandardSchemaIssue[]): string {
  if (issues.length === 0) return 'no details given';
  return issues
    .map((i) => {
      const path = i.path?.map((p) => String(typeof p === 'object' ? p.key : p)).join('.');
      return path ? `${path}: ${i.message}` : i.message;
    })
    .join('; ');
}

function isPlain(v: unknown): v is Record<string, unknown> | unknown[] {
  if (typeof v !== 'object' || v === null) return false;
  if (Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Freeze plain objects and arrays all the way down, so a value shared by every snapshot
 * cannot be changed through one of them. Class instances are left alone: freezing them
 * could break their own bookkeeping.
 */
export function deepFreeze<V>(v: V): V {
  if (!isPlain(v) || Object.isFrozen(v)) return v;
  Object.freeze(v);
  for (const child of Object.values(v)) deepFreeze(child);
  return v;
}

/**
 * Whether two decoded values hold the same data: identical, or plain objects, arrays, bytes
 * and dates with equal contents. Anything else counts as different.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array)
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.compare(a, b) === 0;
  if (a instanceof Date || b instanceof Date)
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (!isPlain(a) || !isPlain(b) || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k)) return false;
    if (!sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}
