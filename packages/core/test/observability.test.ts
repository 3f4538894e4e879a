import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { startTcpProxy } from '@etcdkit/testkit';
import { uniqueName, uniquePrefix, until, useEtcd } from '@etcdkit/testkit/vitest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type ConnectionMessage,
  DIAGNOSTICS_CHANNELS,
  Etcd,
  InvalidArgumentError,
  type RpcMessage,
  type SessionMessage,
  type WatchMessage,
} from '../src/index.js';
import { Log } from '../src/internal.js';

const fx = useEtcd();

/** Collect the messages of a channel until the returned stop(). */
function collect<T>(name: string): { messages: T[]; stop(): void } {
  const messages: T[] = [];
  const fn = (m: unknown) => messages.push(m as T);
  subscribe(name, fn);
  return { messages, stop: () => unsubscribe(name, fn) };
}

function captureLogger() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string | undefined }[] = [];
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('the logger', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('logs a condition once per window, then says how many repeats it left out', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { lines, logger } = captureLogger();
    const log = new Log(logger, 1000);
    for (let i = 0; i < 5; i++) log.warn('retry:KV.Range', { attempt: i }, 'retrying');
    log.warn('failover', {}, 'failing over');
    expect(lines.map((l) => l.obj.condition)).toEqual(['retry:KV.Range', 'failover']);
    vi.advanceTimersByTime(1000);
    log.warn('retry:KV.Range', { attempt: 9 }, 'retrying');
    expect(lines).toHaveLength(3);
    expect(lines[2]!.obj).toMatchObject({ condition: 'retry:KV.Range', attempt: 9, suppressed: 4 });
  });

  it('a throwing logger does not break the caller', () => {
    const boom = () => {
      throw new Error('logger down');
    };
    const log = new Log({ debug: boom, info: boom, warn: boom, error: boom });
    expect(() => log.warn('x', {}, 'y')).not.toThrow();
  });

  it('refuses a logger without the four methods, and a bad logIntervalMs', () => {
    expect(() => new Etcd({ logger: { warn() {} } as never })).toThrow(InvalidArgumentError);
    expect(() => new Etcd({ logger: console, logIntervalMs: -1 })).toThrow(/logIntervalMs/);
  });

  it('an outage is a few lines, not one per retry; nothing is lost', async () => {
    const proxy = await startTcpProxy(fx.endpoints[0]!);
    const { lines, logger } = captureLogger();
    const etcd = new Etcd({ endpoints: [proxy.endpoint], logger, logIntervalMs: 60_000, dialTimeoutMs: 300 });
    const retries = collect<ConnectionMessage>(DIAGNOSTICS_CHANNELS.connection);
    try {
      const s = await etcd.session({ ttl: 2 });
      const w = etcd.watch({ prefix: uniquePrefix('outage') });
      await w.ready;
      proxy.refuse(true);
      proxy.cut();
      await Promise.allSettled(
        Array.from({ length: 3 }, () => etcd.get(uniqueName('during'), { timeoutMs: 1000 })),
      );
      // The session is lost; the watch stream is retried with backoff for as long as the outage lasts.
      await s.closed;
      await until(
        () => retries.messages.filter((m) => m.type === 'retry' && m.operation === 'Watch.Watch').length > 3,
        { what: 'several watch stream retries' },
      );
      w.close();
      const counts = new Map<unknown, number>();
      for (const l of lines) counts.set(l.obj.condition, (counts.get(l.obj.condition) ?? 0) + 1);
      expect(counts.get('keepalive-stream')).toBe(1);
      expect(counts.get('watch-stream')).toBe(1);
      expect(counts.get(`session-lost:${s.lease.toString(16)}`)).toBe(1);
      for (const [condition, n] of counts) expect({ condition, n }).toEqual({ condition, n: 1 });
      proxy.refuse(false);
      await until(async () => (await etcd.health({ timeoutMs: 2000 })).ok, { what: 'the connection back' });
      const key = uniqueName('after');
      await etcd.put(key, '1');
      expect((await fx.etcd.get(key))?.value.toString()).toBe('1');
    } finally {
      retries.stop();
      await etcd.close();
      await proxy.close();
    }
  });
});

describe('diagnostics channels', () => {
  it('etcdkit:rpc traces each unary call with service, method, endpoint, attempt and key', async () => {
    const starts: RpcMessage[] = [];
    const ends: RpcMessage[] = [];
    const handlers = {
      start: (m: unknown) => starts.push(m as RpcMessage),
      asyncEnd: (m: unknown) => ends.push(m as RpcMessage),
    };
    subscribe('tracing:etcdkit:rpc:start', handlers.start);
    subscribe('tracing:etcdkit:rpc:asyncEnd', handlers.asyncEnd);
    try {
      const key = uniqueName('rpc');
      await fx.etcd.put(key, 'v');
      const put = ends.find((m) => m.method === 'Put')!;
      expect(starts).toContain(put);
      expect(put).toMatchObject({
        service: 'etcdserverpb.KV',
        method: 'Put',
        endpoint: fx.endpoints[0],
        attempt: 1,
        idempotent: false,
        outcome: 'ok',
      });
      expect(put.key?.toString()).toBe(key);
    } finally {
      unsubscribe('tracing:etcdkit:rpc:start', handlers.start);
      unsubscribe('tracing:etcdkit:rpc:asyncEnd', handlers.asyncEnd);
    }
  });

  it('etcdkit:session: granted, keepalive, revoked', async () => {
    const c = collect<SessionMessage>(DIAGNOSTICS_CHANNELS.session);
    try {
      const s = await fx.etcd.session({ ttl: 3 });
      await until(() => c.messages.some((m) => m.type === 'keepalive' && m.lease === s.lease), {
        what: 'a keepalive',
      });
      await s.close();
      const mine = c.messages.filter((m) => m.lease === s.lease).map((m) => m.type);
      expect(mine[0]).toBe('granted');
      expect(mine[mine.length - 1]).toBe('revoked');
    } finally {
      c.stop();
    }
  });

  it('etcdkit:watch: created, lag while the consumer is behind, ended', async () => {
    const c = collect<WatchMessage>(DIAGNOSTICS_CHANNELS.watch);
    const p = uniquePrefix('watch-diag');
    const w = fx.etcd.watch({ prefix: p });
    try {
      await w.ready;
      await fx.etcd.put(`${p}a`, '1');
      await fx.etcd.put(`${p}b`, '2');
      await until(() => c.messages.filter((m) => m.type === 'lag' && m.queued > 0).length >= 2, {
        what: 'lag messages',
      });
      const lag = c.messages.filter((m) => m.type === 'lag');
      expect(lag[lag.length - 1]).toMatchObject({ queued: 2, revisions: 2n });
      const it = w[Symbol.asyncIterator]();
      await it.next();
      await it.next();
      w.close();
      const types = c.messages.map((m) => m.type);
      expect(types[0]).toBe('created');
      expect(types[types.length - 1]).toBe('ended');
    } finally {
      c.stop();
      w.close();
    }
  });
});

describe('etcd.health()', () => {
  it('ok with a ready connection; not ok, with the reason, when etcd cannot be reached or the client is closed', async () => {
    const proxy = await startTcpProxy(fx.endpoints[0]!);
    const etcd = new Etcd({ endpoints: [proxy.endpoint], dialTimeoutMs: 300 });
    try {
      // A fresh client probes once.
      const first = await etcd.health();
      expect(first).toMatchObject({ ok: true, problems: [], endpoint: proxy.endpoint, closed: false });
      const s = await etcd.session({ ttl: 5 });
      const h = await etcd.health();
      expect(h.sessions.alive).toBe(1);
      expect(h.sessions.minRemainingMs).toBeGreaterThan(0);
      expect(h.lastSuccessAt).toBeGreaterThan(0);
      await s.close();

      proxy.refuse(true);
      proxy.cut();
      await until(async () => !(await etcd.health({ timeoutMs: 300 })).ok, { what: 'unhealthy' });
      const down = await etcd.health({ timeoutMs: 300 });
      expect(down.problems).toContain('no connection to any etcd endpoint');
      expect(down.endpoint).toBeUndefined();
      proxy.refuse(false);
      await until(async () => (await etcd.health()).ok, { what: 'healthy again' });
    } finally {
      await etcd.close();
      await proxy.close();
    }
    const closed = await etcd.health();
    expect(closed).toMatchObject({ ok: false, closed: true, problems: ['the client is closed'] });
  });

  it('a watch whose consumer falls behind makes the client unhealthy until it catches up', async () => {
    const etcd = fx.client();
    const p = uniquePrefix('lagging');
    const w = etcd.watch({ prefix: p });
    try {
      await w.ready;
      await etcd.put(`${p}a`, '1');
      await until(async () => (await etcd.health({ watchLagMs: 50 })).watches.lagging === 1, {
        what: 'the watch to lag',
      });
      const h = await etcd.health({ watchLagMs: 50 });
      expect(h.ok).toBe(false);
      expect(h.watches).toEqual({ active: 1, lagging: 1 });
      await w[Symbol.asyncIterator]().next();
      expect((await etcd.health({ watchLagMs: 50 })).ok).toBe(true);
    } finally {
      w.close();
    }
  });
});
