import { fromJSON, type MethodDefinition, type Options } from '@grpc/proto-loader';
import { InvalidArgumentError } from '../errors.js';
import { descriptor } from './descriptor.js';
import type { ServiceName } from './transport.js';

/**
 * How messages map to JavaScript. The schema itself is compiled in (descriptor.ts, generated from
 * proto/ by scripts/gen-descriptor.mjs), so nothing is read from disk or parsed at start-up and
 * bundlers need no extra files. keepCase is applied when the JSON is generated; it stays here so
 * a test can load proto/ with exactly these options and compare.
 */
export const loaderOptions = {
  keepCase: false,
  longs: String, // int64 arrives as a decimal string, turned into bigint by the callers
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
} satisfies Options;

// Built on first use, once per process: every client shares the (immutable) definitions, and
// importing the package costs nothing until a connection makes its first call.
let definition: ReturnType<typeof fromJSON> | undefined;

// biome-ignore lint/suspicious/noExplicitAny: the wire layer is typed by internal/wire.ts at each call site
export type AnyMethod = MethodDefinition<any, any>;

export function method(service: ServiceName, name: string): AnyMethod {
  definition ??= fromJSON(descriptor, loaderOptions);
  const svc = definition[`etcdserverpb.${service}`] as Record<string, AnyMethod> | undefined;
  const m = svc?.[name];
  if (!m) throw new InvalidArgumentError(`etcdkit: unknown rpc etcdserverpb.${service}/${name}`);
  return m;
}
