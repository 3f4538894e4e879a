import { fileURLToPath } from 'node:url';
import { startTcpProxy } from '@etcdkit/testkit';
import { uniquePrefix as uniq, useEtcd } from '@etcdkit/testkit/vitest';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import {
  CompactedError,
  DeadlineExceededError,
  DialTimeoutError,
  Etcd,
  op,
  ResourceExhaustedError,
  UnavailableError,
  UnknownEtcdError,
} from '../src/index.js';

const t = useEtcd();

/**
 * A gRPC server that speaks etcd's KV service and answers the first `refusals` puts exactly as
 * etcd 3.4 does when its apply queue is full: status UNKNOWN, "etcdserver: too many requests".
 */
async function tooManyRequestsServer(refusals: number) {
  const def = loadSync('rpc.proto', {
    includeDirs: [fileURLToPath(new URL('../../../proto/', import.meta.url))],
    keepCase: false,
    longs: String,
    enums: String,
    bytes: Buffer,
    defaults: true,
    oneofs: true,
  });
  const server = new grpc.Server();
  const state = { puts: 0, stored: new Map<string, Buffer>() };
  const header = { clusterId: '1', memberId: '1', revision: '2', raftTerm: '1' };
  server.addService(def['etcdserverpb.KV'] as grpc.ServiceDefinition, {
    Put(
      call: grpc.ServerUnaryCall<{ key: Buffer; value: Buffer }, unknown>,
      cb: grpc.sendUnaryData<unknown>,
    ) {
      state.puts++;
      if (state.puts <= refusals) {
        cb({ code: grpc.status.UNKNOWN, details: 'etcdserver: too many requests' });
        return;
      }
      state.stored.set(call.request.key.toString(), call.request.value);
      cb(null, { header });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    endpoint: `127.0.0.1:${port}`,
    state,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

describe('errors of real failures', () => {
  it('DialTimeoutError says why each endpoint failed, with a cause', async () => {
    const etcd = new Etcd({ endpoints: ['127.0.0.1:1', 'http://127.0.0.1:2'], dialTimeoutMs: 1500 });
    try {
      const err = (await etcd.get('k').catch((e: unknown) => e)) as DialTimeoutError;
      expect(err).toBeInstanceOf(DialTimeoutError);
      expect(err).toBeInstanceOf(UnavailableError);
      expect(err.code).toBe('DIAL_TIMEOUT');
      expect(err.attempts.map((a) => a.endpoint)).toEqual(['127.0.0.1:1', 'http://127.0.0.1:2']);
      for (const a of err.attempts) expect(a.reason).toMatch(/ECONNREFUSED|state/);
      expect(err.attempts.some((a) => /ECONNREFUSED/.test(a.reason))).toBe(true);
      expect(err.cause).toBeInstanceOf(Error);
    } finally {
      await etcd.close();
    }
  });

  it('CompactedError carries etcd compact revision for a read, a transaction and a scan', async () => {
    const etcd = t.client();
    const key = `${uniq('compacted')}k`;
    const a = await etcd.put(key, '1');
    await etcd.put(key, '2');
    const c = await etcd.put(key, '3');
    await etcd.compact(c.revision);
    const read = (await etcd.get(key, { revision: a.revision }).catch((e: unknown) => e)) as CompactedError;
    expect(read).toBeInstanceOf(CompactedError);
    expect(read.code).toBe('COMPACTED');
    // Later tests of this file compact further, but none runs concurrently with this one.
    expect(read.compactRevision).toBe(c.revision);
    expect(read.exact).toBe(true);
    expect(read.message).toContain(String(c.revision));
    const txn = (await etcd
      .txn()
      .then(op.get({ key, revision: a.revision }))
      .commit()
      .catch((e: unknown) => e)) as CompactedError;
    expect(txn).toBeInstanceOf(CompactedError);
    expect(txn.compactRevision).toBe(c.revision);
    const scan = async () => {
      for await (const _ of etcd.scan({ prefix: key, revision: a.revision })) {
        // nothing: the first page fails
      }
    };
    const scanned = (await scan().catch((e: unknown) => e)) as CompactedError;
    expect(scanned).toBeInstanceOf(CompactedError);
    expect(scanned.compactRevision).toBe(c.revision);
  });

  it('a call that waits too long is a DeadlineExceededError saying what waited', async () => {
    await using proxy = await startTcpProxy(t.server.endpoints[0]!);
    const etcd = t.client({ endpoints: [proxy.endpoint] });
    await etcd.get(uniq('deadline'));
    // The connection stays open, but nothing comes back: the call is sent and waits.
    proxy.blackhole(true);
    const err = (await etcd
      .get(uniq('deadline'), { timeoutMs: 500 })
      .catch((e: unknown) => e)) as DeadlineExceededError;
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.code).toBe('DEADLINE_EXCEEDED');
    expect(err.reason).toBe('call');
    expect(err.operation).toBe('KV.Range');
    expect(err.timeoutMs).toBe(500);
  });

  it('each call times out at its own deadline, an earlier one started after a later one included', async () => {
    await using proxy = await startTcpProxy(t.server.endpoints[0]!);
    const etcd = t.client({ endpoints: [proxy.endpoint] });
    await etcd.get(uniq('deadlines'));
    proxy.blackhole(true);
    const order: number[] = [];
    const t0 = performance.now();
    const call = (timeoutMs: number) =>
      etcd
        .get(uniq('deadlines'), { timeoutMs })
        .then(
          () => undefined,
          (e: unknown) => e,
        )
        .then((e) => {
          order.push(timeoutMs);
          return { e: e as DeadlineExceededError, ms: performance.now() - t0 };
        });
    const long = call(1200);
    const short = call(300);
    const middle = call(700);
    const results = await Promise.all([long, short, middle]);
    expect(order).toEqual([300, 700, 1200]);
    for (const [i, timeoutMs] of [1200, 300, 700].entries()) {
      const r = results[i]!;
      expect(r.e).toBeInstanceOf(DeadlineExceededError);
      expect(r.e.timeoutMs).toBe(timeoutMs);
      // Never early (a timer may fire late; deadlines are whole milliseconds of Date.now()).
      expect(r.ms).toBeGreaterThanOrEqual(timeoutMs - 5);
    }
  });
});

describe('too many requests', () => {
  it('is recognised from etcd 3.4 (status UNKNOWN) and a put is retried until it succeeds', async () => {
    const stub = await tooManyRequestsServer(3);
    const etcd = new Etcd({ endpoints: [stub.endpoint], retries: 5 });
    try {
      const r = await etcd.put('k', 'v');
      expect(r.revision).toBe(2n);
      expect(stub.state.puts).toBe(4);
      expect(stub.state.stored.get('k')?.toString()).toBe('v');
    } finally {
      await etcd.close();
      await stub.close();
    }
  });

  it('when retries run out, fails as ResourceExhaustedError (reason too-many-requests)', async () => {
    const stub = await tooManyRequestsServer(100);
    const etcd = new Etcd({ endpoints: [stub.endpoint], retries: 2 });
    try {
      const err = (await etcd.put('k', 'v').catch((e: unknown) => e)) as ResourceExhaustedError;
      expect(err).toBeInstanceOf(ResourceExhaustedError);
      expect(err.code).toBe('RESOURCE_EXHAUSTED');
      expect(err.reason).toBe('too-many-requests');
      expect(stub.state.puts).toBe(3);
    } finally {
      await etcd.close();
      await stub.close();
    }
  });

  it('10 000 concurrent puts against a real etcd: none fails as UnknownEtcdError, every value is there', async () => {
    // Many retries: on a slow disk etcd can refuse the same put several times in a row.
    const etcd = t.client({ requestTimeoutMs: 60_000, retries: 50 });
    const p = uniq('flood');
    const n = 10_000;
    const results = await Promise.allSettled(
      Array.from({ length: n }, (_, i) => etcd.put(`${p}${String(i).padStart(5, '0')}`, String(i))),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    // etcd may or may not refuse some of them (it depends on the disk); none may stay refused.
    expect(failed.filter((f) => f.reason instanceof UnknownEtcdError)).toEqual([]);
    expect(failed.map((f) => String(f.reason))).toEqual([]);
    const r = await etcd.range({ prefix: p, countOnly: true });
    expect(r.count).toBe(n);
    let i = 0;
    for await (const kv of etcd.scan({ prefix: p })) expect(kv.value.toString()).toBe(String(i++));
    expect(i).toBe(n);
  });
});
