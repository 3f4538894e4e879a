import { InvalidArgumentError } from '@etcdkit/core';

/**
 * The key and value layout of etcd's Go `naming/endpoints` manager (and of the older
 * `clientv3/naming` gRPC resolver), so Go services and etcdkit services see each other:
 *
 *   key   `<service>/<id>`
 *   value `{"Op":0,"Addr":"<address>","Metadata":<JSON or null>}`
 *
 * The value is what Go's encoding/json writes for the manager's `Update` struct: fields in
 * struct order, map keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped as \u00XX.
 * Go has no draining field; etcdkit marks a draining instance with `"etcdkit.draining":true`
 * inside Metadata (an object), which Go's resolver passes on untouched and its balancers ignore.
 */

/** The Metadata property that marks an instance as draining. */
export const DRAINING_KEY = 'etcdkit.draining';

/** One registered instance of a service, as discovery reports it. */
export interface Instance {
  /** The last segment of the key: `<service>/<id>`. */
  readonly id: string;
  /** Where to reach it (`host:port` for gRPC). */
  readonly address: string;
  /** What was registered with it (any JSON value for entries written by other clients), without etcdkit's draining mark. */
  readonly metadata?: unknown;
  /** The instance is leaving: do not send it new work. */
  readonly draining: boolean;
}

/** Registration metadata: a plain JSON object. */
export type Metadata = Readonly<Record<string, unknown>>;

const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** A string literal as Go's encoding/json writes it (HTML-safe escaping). */
function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]!);
}

/** JSON text as Go's encoding/json writes a decoded value (map keys sorted); throws on what JSON cannot hold. */
function goJson(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return goString(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value))
        throw new InvalidArgumentError(`${path} is ${value}, which JSON cannot hold`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v, i) => goJson(v, `${path}[${i}]`)).join(',')}]`;
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null)
        throw new InvalidArgumentError(
          `${path} is a ${proto?.constructor?.name ?? 'object'}; only plain JSON data is allowed`,
        );
      const keys = Object.keys(value)
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const parts = keys.map(
        (k) => `${goString(k)}:${goJson((value as Record<string, unknown>)[k], `${path}.${k}`)}`,
      );
      return `{${parts.join(',')}}`;
    }
    default:
      throw new InvalidArgumentError(`${path} is a ${typeof value}, which JSON cannot hold`);
  }
}

/** The value bytes for an instance, byte for byte what Go's manager writes for the same Addr and Metadata. */
export function encodeEndpoint(address: string, metadata: Metadata | undefined, draining: boolean): Buffer {
  let meta: unknown = metadata ?? null;
  if (draining) meta = { ...(metadata ?? {}), [DRAINING_KEY]: true };
  return Buffer.from(`{"Op":0,"Addr":${goString(address)},"Metadata":${goJson(meta, 'metadata')}}`, 'utf8');
}

/** Checks registration metadata at the API edge (a plain JSON object). */
export function checkMetadata(metadata: unknown): asserts metadata is Metadata | undefined {
  if (metadata === undefined) return;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    throw new InvalidArgumentError('metadata must be a plain JSON object, e.g. { zone: "eu-1", weight: 2 }');
  if (DRAINING_KEY in metadata)
    throw new InvalidArgumentError(`metadata must not hold "${DRAINING_KEY}": use registration.drain()`);
  try {
    goJson(metadata, 'metadata');
  } catch (err) {
    throw new InvalidArgumentError(`metadata must be JSON data: ${(err as Error).message}`, { cause: err });
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a value as Go's manager does: JSON with an `Addr` string; `Op` is not looked at (Go
 * treats every put as an addition) and unknown fields are ignored. A throw marks the value
 * invalid (config-sync reports it and leaves the instance out).
 */
export function decodeEndpoint(value: Buffer, id: string): Instance {
  const parsed: unknown = JSON.parse(utf8.decode(value));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new InvalidArgumentError(
      'not an endpoint: expected a JSON object {"Op":0,"Addr":"host:port","Metadata":...}',
    );
  const { Addr: address, Metadata: raw } = parsed as { Addr?: unknown; Metadata?: unknown };
  if (typeof address !== 'string' || address === '')
    throw new InvalidArgumentError('not an endpoint: "Addr" must be a non-empty string');
  let metadata = raw ?? undefined;
  let draining = false;
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && DRAINING_KEY in raw) {
    const { [DRAINING_KEY]: mark, ...rest } = raw as Record<string, unknown>;
    draining = mark === true;
    metadata = Object.keys(rest).length > 0 ? rest : undefined;
  }
  return metadata === undefined ? { id, address, draining } : { id, address, metadata, draining };
}
