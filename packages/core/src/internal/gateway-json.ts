import { InvalidArgumentError } from '../errors.js';
import { descriptor } from './descriptor.js';

/**
 * etcd's HTTP gateway speaks proto3 JSON: field names as in the .proto (snake_case, which it
 * also accepts camelCased), bytes in base64, 64-bit integers as decimal strings, enums by name,
 * and fields at their default value left out. This turns its answers into the very shapes the
 * gRPC transport produces (see wire.ts), using the compiled schema: camelCase names, Buffers,
 * int64 strings, enum names, defaults filled in, a oneof's member named by the oneof.
 */

interface Namespace {
  nested?: Record<string, Namespace & TypeJson & EnumJson>;
}
interface TypeJson {
  fields?: Record<string, { type: string; rule?: string; id: number }>;
  oneofs?: Record<string, { oneof: string[] }>;
  methods?: Record<string, { requestType: string; responseType: string }>;
}
interface EnumJson {
  values?: Record<string, number>;
}

type Kind = 'bytes' | 'long' | 'scalar' | 'enum' | 'message';

interface Field {
  name: string;
  kind: Kind;
  repeated: boolean;
  oneof: string | undefined;
  /** For an enum: its names by number. */
  names?: Map<number, string>;
  /** For a message: its decoder, resolved on first use. */
  type?: () => MessageType;
  scalarDefault?: unknown;
}

interface MessageType {
  byKey: Map<string, Field>;
  fields: Field[];
}

const LONG = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const NUMBER = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'double', 'float']);

const root = descriptor as unknown as Namespace;
const types = new Map<string, MessageType>();

/** Find `name` as protobuf does: from the innermost scope outwards. */
function lookup(name: string, scope: string[]): { path: string[]; def: TypeJson & EnumJson } {
  const parts = name.split('.');
  for (let depth = scope.length; depth >= 0; depth--) {
    let ns: (Namespace & TypeJson & EnumJson) | undefined = root as Namespace & TypeJson & EnumJson;
    const path = [...scope.slice(0, depth), ...parts];
    for (const p of path) ns = ns?.nested?.[p];
    if (ns) return { path, def: ns };
  }
  throw new InvalidArgumentError(`etcdkit: type ${name} is not in the compiled schema`);
}

function messageType(path: string[]): MessageType {
  const key = path.join('.');
  let t = types.get(key);
  if (t) return t;
  const { def } = lookup(path.join('.'), []);
  const oneofOf = new Map<string, string>();
  for (const [name, o] of Object.entries(def.oneofs ?? {})) for (const m of o.oneof) oneofOf.set(m, name);
  t = { byKey: new Map(), fields: [] };
  types.set(key, t);
  for (const [name, f] of Object.entries(def.fields ?? {})) {
    const field: Field = { name, kind: 'scalar', repeated: f.rule === 'repeated', oneof: oneofOf.get(name) };
    if (f.type === 'bytes') field.kind = 'bytes';
    else if (LONG.has(f.type)) field.kind = 'long';
    else if (NUMBER.has(f.type)) field.scalarDefault = 0;
    else if (f.type === 'bool') field.scalarDefault = false;
    else if (f.type === 'string') field.scalarDefault = '';
    else {
      const found = lookup(f.type, path);
      if (found.def.values) {
        field.kind = 'enum';
        field.names = new Map(Object.entries(found.def.values).map(([n, v]) => [v, n]));
      } else {
        field.kind = 'message';
        field.type = () => messageType(found.path);
      }
    }
    t.fields.push(field);
    t.byKey.set(name, field);
    // The gateway sends the .proto's own names: snake_case for most fields.
    const snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (!t.byKey.has(snake)) t.byKey.set(snake, field);
  }
  return t;
}

function defaultOf(f: Field): unknown {
  if (f.repeated) return [];
  switch (f.kind) {
    case 'bytes':
      return Buffer.alloc(0);
    case 'long':
      return '0';
    case 'enum':
      return f.names!.get(0);
    case 'message':
      return null;
    default:
      return f.scalarDefault;
  }
}

function value(f: Field, v: unknown): unknown {
  switch (f.kind) {
    case 'bytes':
      return Buffer.from(v as string, 'base64');
    case 'long':
      return String(v);
    case 'enum':
      return typeof v === 'number' ? (f.names!.get(v) ?? String(v)) : v;
    case 'message':
      return v === null ? null : decodeMessage(f.type!(), v as Record<string, unknown>);
    default:
      return v;
  }
}

function decodeMessage(t: MessageType, json: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of t.fields) if (f.oneof === undefined) out[f.name] = defaultOf(f);
  for (const k in json) {
    const f = t.byKey.get(k) ?? t.byKey.get(k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
    if (!f) continue; // a field of a newer etcd: not part of what etcdkit reads
    const v = json[k];
    out[f.name] = f.repeated ? (v as unknown[]).map((x) => value(f, x)) : value(f, v);
    if (f.oneof !== undefined) out[f.oneof] = f.name;
  }
  return out;
}

/** Decode a message of type `name` (in etcdserverpb) from the gateway's JSON. */
export function decode<T>(name: string, json: unknown): T {
  return decodeMessage(messageType(['etcdserverpb', name]), (json ?? {}) as Record<string, unknown>) as T;
}

/** The request and response type names of a call. */
export function methodTypes(service: string, name: string): { request: string; response: string } {
  const m = (root.nested?.etcdserverpb?.nested?.[service] as TypeJson | undefined)?.methods?.[name];
  if (!m) throw new InvalidArgumentError(`etcdkit: unknown rpc etcdserverpb.${service}/${name}`);
  return { request: m.requestType, response: m.responseType };
}

function replacer(this: Record<string, unknown>, key: string, v: unknown): unknown {
  // JSON.stringify has already called a Buffer's toJSON: look at the original value.
  const raw = this[key];
  if (raw instanceof Uint8Array)
    return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
  if (typeof v === 'bigint') return v.toString();
  return v;
}

/**
 * A request as the gateway reads it: the wire objects etcdkit builds (camelCase names, which
 * proto3 JSON accepts, int64 as strings, enum names) with bytes in base64.
 */
export function encode(req: unknown): string {
  return JSON.stringify(req, replacer);
}
