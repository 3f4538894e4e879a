import { spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Etcd } from '@etcdkit/core';
import { startTcpProxy } from '@etcdkit/testkit';
import { describe, expect, it } from 'vitest';
import { type DiscoveryMessage, discover, type ReregisteredEvent, register } from '../src/index.js';
import { nextEvent, uniq, untilList, useEtcd } from './helpers.js';

const t = useEtcd();
const fixtures = new URL('./fixtures/', import.meta.url).pathname;

describe('an instance process that dies', () => {
  // A child process that runs the TypeScript sources takes a while to start on a loaded machine.
  it('a SIGKILLed instance disappears once its lease expires (ttl + 1 s)', async () => {
    const service = uniq('killed');
    const ttl = 2;
    await using svc = await discover(t.client(), service);
    await using survivor = await register(t.client(), { service, address: '127.0.0.1:8001', ttl });
    const child = spawn(
      process.execPath,
      [
        '--import',
        `${fixtures}register-ts.mjs`,
        `${fixtures}instance.ts`,
        t.server.endpoints.join(','),
        service,
        '127.0.0.1:8002',
        String(ttl),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      let out = '';
      let err = '';
      child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          if (/^registered /m.test(out)) resolve();
        });
        child.once('exit', (code) =>
          reject(new Error(`the instance exited (${code}) before registering:\n${err}`)),
        );
      });
      await untilList(svc, (l) => l.length === 2, 'both instances');
      const killedAt = Date.now();
      child.kill('SIGKILL');
      await exited;
      const list = await untilList(svc, (l) => l.length === 1, 'the killed instance gone');
      const elapsed = Date.now() - killedAt;
      expect(list.map((i) => i.address)).toEqual(['127.0.0.1:8001']);
      // ttl + 1 s is the expected bound; the margin only absorbs a loaded machine.
      expect(elapsed).toBeLessThan((ttl + 1) * 1000 + 5000);
      expect(survivor.state).toBe('registered');
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  }, 120_000);
});

describe('a partitioned instance', () => {
  it('loses its session behind a blackholed proxy, re-registers after the heal and reappears', async () => {
    const service = uniq('partition');
    const ttl = 2;
    await using proxy = await startTcpProxy(t.server.endpoints[0]!);
    const cut = new Etcd({ endpoints: [proxy.endpoint], dialTimeoutMs: 1000, requestTimeoutMs: 1500 });
    const published: DiscoveryMessage[] = [];
    const onMessage = (m: unknown) => {
      if ((m as DiscoveryMessage).service === service) published.push(m as DiscoveryMessage);
    };
    subscribe('etcdkit:discovery', onMessage);
    try {
      await using svc = await discover(t.client(), service);
      const reg = await register(cut, {
        service,
        address: '127.0.0.1:8100',
        ttl,
        metadata: { v: 1 },
        backoff: { baseMs: 50, capMs: 500 },
      });
      const events: string[] = [];
      reg.on('lost', () => events.push('lost'));
      reg.on('reregistered', () => events.push('reregistered'));
      await untilList(svc, (l) => l.length === 1, 'the instance');
      const firstLease = reg.lease!;

      const lost = nextEvent<[Error]>(reg, 'lost');
      proxy.blackhole(true);
      // etcd expires the lease it no longer hears from: the instance leaves the list.
      await untilList(svc, (l) => l.length === 0, 'the partitioned instance gone');
      expect((await lost)[0]).toMatchObject({ code: 'SESSION_EXPIRED' });
      expect(reg.state).toBe('reregistering');
      expect(reg.lease).toBeUndefined();

      const back = nextEvent<[ReregisteredEvent]>(reg, 'reregistered');
      proxy.blackhole(false);
      const [info] = await back;
      expect(info.attempts).toBeGreaterThanOrEqual(1);
      expect(info.lease).not.toBe(firstLease);
      const list = await untilList(svc, (l) => l.length === 1, 'the instance back');
      expect(list[0]).toEqual({
        id: '127.0.0.1:8100',
        address: '127.0.0.1:8100',
        metadata: { v: 1 },
        draining: false,
      });
      expect(reg.state).toBe('registered');
      expect(reg.lease).toBe(info.lease);
      const admin = t.client();
      expect((await admin.get(reg.key))!.lease).toBe(info.lease);
      expect(events).toEqual(['lost', 'reregistered']);
      // The same story on the diagnostics channel (attempts that failed while partitioned are retries).
      expect(published.map((m) => m.type).filter((type) => type !== 'retry')).toEqual([
        'registered',
        'lost',
        'reregistered',
      ]);
      expect(published.find((m) => m.type === 'reregistered')).toMatchObject({ lease: info.lease });

      // It keeps living on its new session, and close() still removes it at once.
      await reg.close();
      await untilList(svc, (l) => l.length === 0, 'removal after close');
      expect(published.at(-1)).toMatchObject({ type: 'deregistered', key: reg.key });
    } finally {
      unsubscribe('etcdkit:discovery', onMessage);
      await cut.close();
    }
  });

  it('drain() while re-registering is written by the re-registration', async () => {
    const service = uniq('drain-lost');
    await using proxy = await startTcpProxy(t.server.endpoints[0]!);
    const cut = new Etcd({ endpoints: [proxy.endpoint], dialTimeoutMs: 1000, requestTimeoutMs: 1500 });
    try {
      await using svc = await discover(t.client(), service);
      await using reg = await register(cut, {
        service,
        address: '127.0.0.1:8200',
        ttl: 2,
        backoff: { baseMs: 50, capMs: 500 },
      });
      const lost = nextEvent(reg, 'lost');
      proxy.blackhole(true);
      await lost;
      await reg.drain();
      const back = nextEvent(reg, 'reregistered');
      proxy.blackhole(false);
      await back;
      await untilList(svc, (l) => l[0]?.draining === true, 'the instance back, draining');
    } finally {
      await cut.close();
    }
  });
});

describe('a lease revoked by someone else', () => {
  it('the instance notices at its next keepalive and registers again', async () => {
    const service = uniq('revoked');
    const etcd = t.client();
    await using reg = await register(etcd, { service, address: '127.0.0.1:8400', ttl: 3 });
    await using svc = await discover(t.client(), service);
    const first = reg.lease!;
    const lost = nextEvent<[Error]>(reg, 'lost');
    const back = nextEvent<[ReregisteredEvent]>(reg, 'reregistered');
    await t.client().lease.revoke(first);
    await lost;
    const [info] = await back;
    expect(info.lease).not.toBe(first);
    await untilList(svc, (l) => l.length === 1, 'the instance registered again');
    expect((await etcd.get(reg.key))!.lease).toBe(info.lease);
  });
});

describe('an etcd restart', () => {
  it('an instance whose lease etcd lost is registered again', async () => {
    const service = uniq('restart');
    const etcd = t.client({ dialTimeoutMs: 1000, requestTimeoutMs: 1500 });
    await using reg = await register(etcd, {
      service,
      address: '127.0.0.1:8300',
      ttl: 2,
      backoff: { capMs: 500 },
    });
    const lost = nextEvent(reg, 'lost');
    const back = nextEvent<[ReregisteredEvent]>(reg, 'reregistered');
    await t.server.kill();
    await lost;
    await t.server.restart();
    const [info] = await back;
    await using svc = await discover(t.client(), service);
    const list = await untilList(svc, (l) => l.length === 1, 'the instance after the restart');
    expect(list[0]!.address).toBe('127.0.0.1:8300');
    expect((await etcd.get(reg.key))!.lease).toBe(info.lease);
  });
});
