import { describe, expect, it } from 'vitest';
import { Etcd } from '../src/index.js';
import { registerTransport, type Transport } from '../src/internal/transport.js';

// The call path from the API to the transport: when the endpoint is ready (and the token, if
// any, known), a call reaches the transport synchronously, with no promise in between, and
// with one options object per call whatever the caller passed.

interface Seen {
  service: string;
  name: string;
  req: unknown;
  call: { deadline: number; signal: AbortSignal | undefined; token: string | undefined };
}

function fakeTransport(seen: Seen[]): Transport {
  return {
    kind: 'grpc',
    ready: () => true,
    dial: async () => 0,
    failed: () => {},
    unary: <Req, Res>(_i: number, service: string, name: string, req: Req, call: Seen['call']) => {
      seen.push({ service, name, req, call: { ...call } });
      const header = { revision: '7', clusterId: '1', memberId: '1', raftTerm: '1' };
      return Promise.resolve({ header, prevKv: null, kvs: [], more: false, count: '0' } as Res);
    },
    serverStream: () => {
      throw new Error('not used');
    },
    bidi: () => {
      throw new Error('not used');
    },
    close: () => {},
  };
}

describe('the call path', () => {
  it('reaches the transport synchronously when connected, with the caller deadline and signal', async () => {
    const seen: Seen[] = [];
    registerTransport('grpc', () => fakeTransport(seen));
    await using etcd = new Etcd({ endpoints: ['127.0.0.1:2379'], transport: 'grpc', requestTimeoutMs: 5000 });
    const ac = new AbortController();
    const before = Date.now();
    const put = etcd.put('k', 'v', { signal: ac.signal, timeoutMs: 1234 });
    // Nothing was awaited yet: the transport already has the call.
    expect(seen).toHaveLength(1);
    expect(seen[0]!.service).toBe('KV');
    expect(seen[0]!.name).toBe('Put');
    expect(seen[0]!.call.signal).toBe(ac.signal);
    expect(seen[0]!.call.deadline).toBeGreaterThanOrEqual(before + 1234);
    expect(seen[0]!.call.deadline).toBeLessThanOrEqual(Date.now() + 1234);
    expect((await put).revision).toBe(7n);
    const get = etcd.get('k');
    expect(seen).toHaveLength(2);
    expect(seen[1]!.name).toBe('Range');
    expect(await get).toBeUndefined();
  });
});
