import { setTimeout as sleep } from 'node:timers/promises';
import { etcdctl, startTcpProxy } from '@etcdkit/testkit';
import { uniquePrefix, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { Etcd, LeaseExpiredError, SessionExpiredError } from '../src/index.js';

const t = useEtcd();

describe('lease', () => {
  it('keeps lease IDs above 2^53 exact, as etcdctl lists them', async () => {
    const etcd = t.client();
    const leases = await Promise.all(Array.from({ length: 5 }, () => etcd.lease.grant(60)));
    expect(leases.some((l) => l.id > 2n ** 53n)).toBe(true);
    const listed = await etcdctl(['lease', 'list'], { endpoints: t.server.endpoints });
    const hexIds = new Set([...listed.stdout.matchAll(/^([0-9a-f]+)$/gm)].map((m) => BigInt(`0x${m[1]}`)));
    for (const l of leases) expect(hexIds.has(l.id)).toBe(true);
    const ours = await etcd.lease.list();
    for (const l of leases) expect(ours).toContain(l.id);
    // etcdctl sees the exact ID on a key attached to it.
    const key = uniquePrefix('lease-key');
    await etcd.put(key, 'v', { lease: leases[0]!.id });
    const got = await etcdctl(['get', key, '-w', 'json'], { endpoints: t.server.endpoints });
    const lease = /"lease":(\d+)/.exec(got.stdout)?.[1];
    expect(BigInt(lease!)).toBe(leases[0]!.id);
    for (const l of leases) await l.revoke();
  });

  it('reports time to live with keys, and revoke deletes the keys', async () => {
    const etcd = t.client();
    const p = uniquePrefix('ttl');
    const lease = await etcd.lease.grant(30);
    await etcd.put(`${p}a`, '1', { lease: lease.id });
    await etcd.put(`${p}b`, '2', { lease: lease.id });
    const info = await lease.timeToLive({ keys: true });
    expect(info.grantedTtl).toBe(30);
    expect(info.ttl).toBeGreaterThan(0);
    expect(info.keys.map((k) => k.toString()).sort()).toEqual([`${p}a`, `${p}b`]);
    // Any client can ask by id, as for a lease read from a key.
    const byId = await t.etcd.lease.timeToLive(lease.id);
    expect(byId.grantedTtl).toBe(30);
    expect(byId.ttl).toBeGreaterThan(0);
    await lease.revoke();
    expect((await t.etcd.lease.timeToLive(lease.id)).ttl).toBe(-1);
    expect(lease.signal.aborted).toBe(true);
    expect((await etcd.range({ prefix: p })).count).toBe(0);
    expect((await lease.timeToLive()).ttl).toBe(-1);
    // Revoking again is harmless.
    await lease.revoke();
  });

  it('keeps a session alive three times past its ttl, and close removes its keys', async () => {
    const etcd = t.client();
    const key = uniquePrefix('session');
    const session = await etcd.session({ ttl: 2 });
    await etcd.put(key, 'alive', { lease: session.lease });
    await sleep(6500);
    expect(session.signal.aborted).toBe(false);
    expect((await etcd.get(key))?.value.toString()).toBe('alive');
    const ttl = await session.leaseHandle.timeToLive();
    expect(ttl.ttl).toBeGreaterThan(0);
    await session.close();
    expect(session.signal.aborted).toBe(true);
    expect(session.signal.reason).toBeInstanceOf(SessionExpiredError);
    expect(await session.closed).toBeInstanceOf(SessionExpiredError);
    expect(await etcd.get(key)).toBeUndefined();
  });

  it('declares a session lost when etcd says its lease is gone', async () => {
    const etcd = t.client();
    const other = t.client();
    const session = await etcd.session({ ttl: 30 });
    const lost = new Promise((resolve) => session.leaseHandle.once('lost', resolve));
    await other.lease.revoke(session.lease);
    // The next keepalive answer (ttl/3 = 10 s at most) says TTL 0; ask for one now.
    await expect(session.leaseHandle.keepAliveOnce()).rejects.toThrow(/not found/);
    const reason = await lost;
    expect(reason).toBeInstanceOf(LeaseExpiredError);
    expect(session.expired).toBe(true);
  });

  it('declares a session lost at its local deadline, before etcd expires it, when etcd cannot be reached', async () => {
    await using proxy = await startTcpProxy(t.server.endpoints[0]!);
    const etcd = new Etcd({ endpoints: [proxy.endpoint], dialTimeoutMs: 1000 });
    const direct = t.client();
    const key = uniquePrefix('cut');
    try {
      const session = await etcd.session({ ttl: 3 });
      await etcd.put(key, 'held', { lease: session.lease });
      const order: string[] = [];
      const watcher = direct.watch({ key });
      const expiredOnServer = (async () => {
        for await (const ev of watcher) {
          if (ev.type === 'delete') {
            order.push('etcd expired the lease');
            return;
          }
        }
      })();
      await watcher.ready;
      const lostLocally = session.closed.then((reason) => {
        order.push('session lost locally');
        return reason;
      });
      proxy.blackhole(true);
      proxy.cut();
      const reason = await lostLocally;
      expect(reason).toBeInstanceOf(SessionExpiredError);
      expect(reason.cause).toBeInstanceOf(LeaseExpiredError);
      await expiredOnServer;
      // The point of the local deadline: code learns of the loss before anyone else can take over.
      expect(order).toEqual(['session lost locally', 'etcd expired the lease']);
    } finally {
      proxy.blackhole(false);
      await etcd.close();
    }
  });
});
