/**
 * The floor: bare @grpc/grpc-js stubs generated from the repository's proto/rpc.proto with the
 * loader options @etcdkit/core uses. No retries, deadlines, metadata, failover or conversions:
 * what any etcd client on grpc-js pays at least, so etcdkit's overhead is what it adds above this.
 */
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as GrpcJs from '@grpc/grpc-js';
import type * as ProtoLoader from '@grpc/proto-loader';
// Loaded first, so that its copy of grpc-js is in the module cache when the floor checks it.
import '@etcdkit/core';

/**
 * grpc-js and proto-loader as @etcdkit/core resolves them: the floor must run on the very module
 * copy etcdkit runs on (two copies of grpc-js in one process measured 14-24% apart here, whichever
 * was the floor), so they are required from core's own location, not from the bench's.
 */
const coreRequire = createRequire(fileURLToPath(import.meta.resolve('@etcdkit/core/package.json')));
const grpc = coreRequire('@grpc/grpc-js') as typeof GrpcJs;
const { loadSync } = coreRequire('@grpc/proto-loader') as typeof ProtoLoader;

/** Where a module resolves from a package's location (its real path), or undefined. */
function resolvedFrom(req: NodeJS.Require, id: string): string | undefined {
  try {
    return realpathSync(req.resolve(id));
  } catch {
    return undefined;
  }
}

/**
 * Checks, at start-up, that the floor's grpc-js is the module instance etcdkit loaded (the same
 * file and the same object in the module cache); throws otherwise. Returns where it lives, and
 * whether the etcd3 npm client resolves the same file (it reports, not a requirement).
 */
export function checkSameGrpc(): { path: string; etcd3Same: boolean } {
  const path = resolvedFrom(coreRequire, '@grpc/grpc-js');
  const cached = path === undefined ? undefined : coreRequire.cache[path]?.exports;
  if (path === undefined || cached !== grpc)
    throw new Error(
      `bench: the grpc-js floor is not on @etcdkit/core's copy of @grpc/grpc-js (${path ?? 'not found'}); the comparison would not be fair`,
    );
  const etcd3Path = resolvedFrom(
    createRequire(resolvedFrom(createRequire(import.meta.url), 'etcd3') ?? import.meta.url),
    '@grpc/grpc-js',
  );
  return { path, etcd3Same: etcd3Path === path };
}

function protoDir(): string {
  // bench/dist/grpc-floor.js (built) or bench/src/grpc-floor.ts (run from source): both two up.
  const dir = fileURLToPath(new URL('../../proto/', import.meta.url));
  if (!existsSync(`${dir}rpc.proto`)) throw new Error(`bench: rpc.proto not found in ${dir}`);
  return dir;
}

// The same options as @etcdkit/core's internal/proto.ts, so both pay the same (de)serialisation.
const definition = loadSync('rpc.proto', {
  includeDirs: [protoDir()],
  keepCase: false,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
});

type StubConstructor = GrpcJs.ServiceClientConstructor;
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  etcdserverpb: Record<'KV' | 'Watch' | 'Lease' | 'Maintenance', StubConstructor>;
};

// Decoded messages, as loose as the floor needs them. Requests take bytes as Buffers: protobufjs
// would read a string there as base64.
export interface RawKeyValue {
  key: Buffer;
  value: Buffer;
  createRevision: string;
  modRevision: string;
  version: string;
  lease: string;
}
export interface RawHeader {
  revision: string;
}
export interface RawRangeResponse {
  header: RawHeader;
  kvs: RawKeyValue[];
  more: boolean;
  count: string;
}
export interface RawPutResponse {
  header: RawHeader;
  prevKv: RawKeyValue | null;
}
export interface RawWatchResponse {
  header: RawHeader;
  watchId: string;
  created: boolean;
  canceled: boolean;
  events: { type: 'PUT' | 'DELETE'; kv: RawKeyValue; prevKv: RawKeyValue | null }[];
}
export interface RawLeaseGrantResponse {
  header: RawHeader;
  ID: string;
  TTL: string;
}
export interface RawLeaseKeepAliveResponse {
  header: RawHeader;
  ID: string;
  TTL: string;
}

type Callback<T> = (err: GrpcJs.ServiceError | null, res?: T) => void;
type UnaryStub = (req: object, cb: Callback<unknown>) => GrpcJs.ClientUnaryCall;
type Stub = GrpcJs.Client & Record<string, UnaryStub>;

function unary<T>(stub: Stub, name: string, req: object): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    stub[name]!(req, (err, res) => (err ? reject(err) : resolve(res as T)));
  });
}

/** 'http://h:p' or 'h:p' → 'h:p' (the floor speaks plain HTTP/2 only). */
export function hostPort(endpoint: string): string {
  if (endpoint.startsWith('https://'))
    throw new Error('bench: the grpc-js floor does not do TLS; use a plain endpoint');
  return endpoint.replace(/^http:\/\//, '').replace(/\/+$/, '');
}

/** Bare stubs for one endpoint, on a connection of their own. */
export class GrpcFloor {
  readonly kv: Stub;
  readonly watchStub: Stub;
  readonly lease: Stub;
  readonly maintenance: Stub;

  constructor(endpoint: string) {
    const address = hostPort(endpoint);
    const creds = grpc.credentials.createInsecure();
    // A subchannel pool of its own, so the floor never shares a TCP connection with another client.
    const options: GrpcJs.ChannelOptions = { 'grpc.use_local_subchannel_pool': 1 };
    this.kv = new pkg.etcdserverpb.KV(address, creds, options) as unknown as Stub;
    const channelOverride = this.kv.getChannel();
    // Every service on the KV stub's channel: one connection, as a real client would have.
    const onKvChannel = { ...options, channelOverride };
    this.watchStub = new pkg.etcdserverpb.Watch(address, creds, onKvChannel) as unknown as Stub;
    this.lease = new pkg.etcdserverpb.Lease(address, creds, onKvChannel) as unknown as Stub;
    this.maintenance = new pkg.etcdserverpb.Maintenance(address, creds, onKvChannel) as unknown as Stub;
  }

  put(req: { key: Buffer; value: Buffer; lease?: string; prevKv?: boolean }): Promise<RawPutResponse> {
    return unary(this.kv, 'put', req);
  }

  range(req: {
    key: Buffer;
    rangeEnd?: Buffer;
    limit?: string;
    serializable?: boolean;
  }): Promise<RawRangeResponse> {
    return unary(this.kv, 'range', req);
  }

  deleteRange(req: { key: Buffer; rangeEnd?: Buffer }): Promise<{ header: RawHeader; deleted: string }> {
    return unary(this.kv, 'deleteRange', req);
  }

  txn(req: {
    compare: object[];
    success: object[];
    failure: object[];
  }): Promise<{ header: RawHeader; succeeded: boolean; responses: object[] }> {
    return unary(this.kv, 'txn', req);
  }

  compact(revision: string): Promise<unknown> {
    return unary(this.kv, 'compact', { revision, physical: true });
  }

  status(): Promise<{ header: RawHeader; version: string; dbSize: string }> {
    return unary(this.maintenance, 'status', {});
  }

  leaseGrant(ttl: number): Promise<RawLeaseGrantResponse> {
    return unary(this.lease, 'leaseGrant', { TTL: String(ttl) });
  }

  leaseRevoke(id: string): Promise<unknown> {
    return unary(this.lease, 'leaseRevoke', { ID: id });
  }

  /** A raw Watch stream: write `{ createRequest: {...} }`, read WatchResponses. */
  watch(): GrpcJs.ClientDuplexStream<object, RawWatchResponse> {
    return (
      this.watchStub as unknown as { watch(): GrpcJs.ClientDuplexStream<object, RawWatchResponse> }
    ).watch();
  }

  /** A raw LeaseKeepAlive stream: write `{ ID }`, read `{ ID, TTL }`. */
  leaseKeepAlive(): GrpcJs.ClientDuplexStream<object, RawLeaseKeepAliveResponse> {
    return (
      this.lease as unknown as {
        leaseKeepAlive(): GrpcJs.ClientDuplexStream<object, RawLeaseKeepAliveResponse>;
      }
    ).leaseKeepAlive();
  }

  /** Delete every key under `prefix` (cleanup between cases). */
  async deletePrefix(prefix: string): Promise<void> {
    const key = Buffer.from(prefix);
    await this.deleteRange({ key, rangeEnd: prefixEnd(key) });
  }

  close(): void {
    // The other stubs share the KV stub's channel.
    this.kv.close();
  }
}

export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
