import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { InvalidArgumentError, UnknownEtcdError } from '../errors.js';

/** Where rpc.proto lives: a copy inside the published package, or the workspace's proto/ folder. */
function protoDir(): string {
  const candidates = [
    new URL('../../proto/', import.meta.url),
    new URL('../../../../proto/', import.meta.url),
  ];
  for (const url of candidates) {
    const dir = fileURLToPath(url);
    if (existsSync(`${dir}rpc.proto`)) return dir;
  }
  throw new UnknownEtcdError(
    `etcdkit: rpc.proto not found (looked in ${candidates.map((u) => fileURLToPath(u)).join(', ')})`,
  );
}

// Loaded once per process: every client shares the (immutable) definitions.
const definition = loadSync('rpc.proto', {
  includeDirs: [protoDir()],
  keepCase: false,
  longs: String, // int64 arrives as a decimal string, turned into bigint by the callers
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
});

export type ServiceName = 'KV' | 'Watch' | 'Lease' | 'Cluster' | 'Maintenance' | 'Auth';

// biome-ignore lint/suspicious/noExplicitAny: the wire layer is typed by internal/wire.ts at each call site
export type AnyMethod = MethodDefinition<any, any>;

export function method(service: ServiceName, name: string): AnyMethod {
  const svc = definition[`etcdserverpb.${service}`] as Record<string, AnyMethod> | undefined;
  const m = svc?.[name];
  if (!m) throw new InvalidArgumentError(`etcdkit: unknown rpc etcdserverpb.${service}/${name}`);
  return m;
}
