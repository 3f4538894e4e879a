import { startEtcd, startTcpProxy } from '@etcdkit/testkit';
import { uniquePrefix, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import {
  AbortError,
  ClientClosedError,
  DialTimeoutError,
  Etcd,
  EtcdError,
  UnavailableError,
} from '../src/index.js';

const t = useEtcd();

describe('connection', () => {
  it('fails within dialTimeoutMs naming every endpoint when none answers', async () => {
    const etcd = new Etcd({ endpoints: ['127.0.0.1:1', 'http://127.0.0.1:2'], dialTimeoutMs: 800 });
    try {
      const err = await etcd.get('k').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DialTimeoutError);
      expect((err as DialTimeoutError).message).toContain('127.0.0.1:1');
      expect((err as DialTimeoutError).message).toContain('http://127.0.0.1:2');
      expect((err as DialTimeoutError).endpoints).toHaveLength(2);
    } finally {
      await etcd.close();
    }
  });

  it('does not hang on an endpoint that accepts but never answers', async () => {
    await using proxy = await startTcpProxy(t.server.endpoints[0]!);
    proxy.blackhole(true);
    const etcd = new Etcd({ endpoints: [proxy.endpoint], dialTimeoutMs: 700, requestTimeoutMs: 1500 });
    try {
      const err = await etcd.get('k').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EtcdError);
      expect((err as EtcdError).code).toMatch(/DIAL_TIMEOUT|DEADLINE_EXCEEDED|UNAVAILABLE/);
    } finally {
      await etcd.close();
    }
  });

  it('fails over to the next endpoint when the first is down', async () => {
    const etcd = new Etcd({ endpoints: ['127.0.0.1:1', ...t.server.endpoints], dialTimeoutMs: 2000 });
    const endpoints: string[] = [];
    etcd.on('endpoint', (e) => endpoints.push(e));
    try {
      const key = uniquePrefix('failover');
      await etcd.put(key, 'v');
      expect((await etcd.get(key))?.value.toString()).toBe('v');
      expect(etcd.endpoint).toBe(t.server.endpoints[0]);
      expect(endpoints).toContain(t.server.endpoints[0]);
    } finally {
      await etcd.close();
    }
  });

  it('fails fast with typed errors while etcd is killed, and recovers when it is back', async () => {
    await using server = await startEtcd({ useEnv: false });
    const etcd = new Etcd({ endpoints: server.endpoints, dialTimeoutMs: 1000, requestTimeoutMs: 3000 });
    const events: string[] = [];
    etcd.on('disconnected', () => events.push('disconnected'));
    etcd.on('connected', () => events.push('connected'));
    try {
      const key = uniquePrefix('recover');
      await etcd.put(key, 'before');
      await server.kill();
      const read = await etcd.get(key).catch((e: unknown) => e);
      expect(read).toBeInstanceOf(UnavailableError);
      const write = await etcd.put(key, 'during').catch((e: unknown) => e);
      expect(write).toBeInstanceOf(UnavailableError);
      await server.restart();
      expect((await etcd.get(key))?.value.toString()).toBe('before');
      await etcd.put(key, 'after');
      expect((await etcd.get(key))?.value.toString()).toBe('after');
      expect(events[0]).toBe('connected');
      expect(events).toContain('disconnected');
      expect(events.at(-1)).toBe('connected');
    } finally {
      await etcd.close();
    }
  });

  it('says the outcome of a write is unknown only when the write may have been applied', async () => {
    await using proxy = await startTcpProxy(t.server.endpoints[0]!);
    const etcd = new Etcd({ endpoints: [proxy.endpoint], dialTimeoutMs: 1000, requestTimeoutMs: 1000 });
    try {
      await etcd.put(uniquePrefix('warm'), 'x');
      proxy.blackhole(true);
      const err = await etcd.put(uniquePrefix('lost'), 'x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EtcdError);
      expect((err as { outcomeUnknown?: boolean }).outcomeUnknown).toBe(true);
      expect((err as Error).message).toMatch(/may or may not have been applied/);
    } finally {
      proxy.blackhole(false);
      await etcd.close();
    }
  });

  it('honours AbortSignal and per-call timeouts', async () => {
    await using proxy = await startTcpProxy(t.server.endpoints[0]!);
    const etcd = new Etcd({ endpoints: [proxy.endpoint] });
    try {
      await etcd.get('warm');
      proxy.blackhole(true);
      const ac = new AbortController();
      const pending = etcd.get('k', { signal: ac.signal });
      setTimeout(() => ac.abort(new Error('user gave up')), 50);
      const err = await pending.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AbortError);
      expect((err as AbortError).cause).toEqual(new Error('user gave up'));
      const timedOut = await etcd.get('k', { timeoutMs: 200 }).catch((e: unknown) => e);
      expect(timedOut).toBeInstanceOf(EtcdError);
      expect((timedOut as EtcdError).code).toMatch(/DEADLINE_EXCEEDED|UNAVAILABLE|DIAL_TIMEOUT/);
      const already = new AbortController();
      already.abort();
      await expect(etcd.get('k', { signal: already.signal })).rejects.toBeInstanceOf(AbortError);
    } finally {
      proxy.blackhole(false);
      await etcd.close();
    }
  });

  it('rejects every call after close, and close is idempotent', async () => {
    const etcd = t.client();
    await etcd.put(uniquePrefix('closing'), 'x');
    await etcd.close();
    await etcd.close();
    await expect(etcd.get('x')).rejects.toBeInstanceOf(ClientClosedError);
    await expect(etcd.put('x', 'y')).rejects.toBeInstanceOf(ClientClosedError);
    expect(() => etcd.watch({ key: 'x' })).toThrow(ClientClosedError);
    await expect(etcd.session()).rejects.toBeInstanceOf(ClientClosedError);
    await expect(etcd.lease.grant(10)).rejects.toBeInstanceOf(ClientClosedError);
  });

  it('supports await using', async () => {
    const key = uniquePrefix('using');
    {
      await using etcd = new Etcd({ endpoints: t.server.endpoints });
      await etcd.put(key, 'x');
    }
    const other = t.client();
    expect((await other.get(key))?.value.toString()).toBe('x');
  });

  it('takes endpoints from ETCD_ENDPOINTS by default', async () => {
    const saved = process.env.ETCD_ENDPOINTS;
    process.env.ETCD_ENDPOINTS = ` ${t.server.endpoints[0]} ,127.0.0.1:1`;
    try {
      await using etcd = new Etcd();
      expect(etcd.endpoints).toEqual([t.server.endpoints[0], '127.0.0.1:1']);
      await etcd.put(uniquePrefix('env'), 'x');
    } finally {
      if (saved === undefined) delete process.env.ETCD_ENDPOINTS;
      else process.env.ETCD_ENDPOINTS = saved;
    }
  });
});
