import { setTimeout as sleep } from 'node:timers/promises';
import { startTcpProxy, type TcpProxy } from '@etcdkit/testkit';
import { testTransport, uniquePrefix, until, useCluster } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { Etcd, type EtcdError, FutureRevisionError, type WatchBatch } from '../src/index.js';

const t = useCluster({ members: 3 });

/** Writes `count` keys one by one, repeating a write that failed (a repeat only adds a revision). */
async function writeKeys(etcd: Etcd, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    for (;;) {
      try {
        await etcd.put(`${prefix}${i}`, String(i));
        break;
      } catch {
        await sleep(20);
      }
    }
  }
}

/** The batches of a prefix between two revisions, read afterwards from a healthy member: the truth. */
async function history(endpoints: string[], prefix: string, from: bigint, to: bigint): Promise<bigint[]> {
  await using etcd = new Etcd({ endpoints });
  const revs: bigint[] = [];
  const w = etcd.watch({ prefix, startRevision: from });
  for await (const b of w.batches()) {
    revs.push(b.revision);
    if (b.revision >= to) break;
  }
  return revs;
}

function collect(etcd: Etcd, prefix: string, startRevision: bigint) {
  const batches: WatchBatch[] = [];
  const w = etcd.watch({ prefix, startRevision });
  const done = (async () => {
    for await (const b of w.batches()) batches.push(b);
  })();
  return { w, batches, done };
}

describe('a 3-member cluster', () => {
  it('keeps a watch exact while the watched member is killed and restarted twice, and fails unary calls and sessions over', async () => {
    const watcher = new Etcd({ endpoints: t.cluster.endpoints, dialTimeoutMs: 2000 });
    const writer = new Etcd({ endpoints: [...t.cluster.endpoints].reverse(), dialTimeoutMs: 2000 });
    try {
      const p = uniquePrefix('cluster-watch');
      const start = (await writer.put(`${p}start`, 'x')).revision + 1n;
      const session = await watcher.session({ ttl: 5 });
      const c = collect(watcher, p, start);
      await c.w.ready;
      const writing = writeKeys(writer, p, 5000);
      for (let round = 0; round < 2; round++) {
        await sleep(700);
        const member = t.cluster.members.find((m) => m.endpoint === watcher.endpoint)!;
        await member.kill();
        // Unary calls on the watching client go elsewhere meanwhile.
        await watcher.get(`${p}0`);
        await sleep(700);
        await member.restart();
      }
      await writing;
      const last = (await writer.put(`${p}end`, 'x')).revision;
      await until(() => (c.batches.at(-1)?.revision ?? 0n) >= last, {
        what: 'the watcher to reach the last write',
        timeoutMs: 60_000,
      });
      c.w.close();
      await c.done;
      const truth = await history(t.cluster.endpoints, p, start, last);
      const seen = c.batches.map((b) => b.revision);
      expect(seen.length).toBe(truth.length);
      expect(seen).toEqual(truth);
      expect(
        new Set(c.batches.flatMap((b) => b.events.map((e) => e.kv.key.toString()))).size,
      ).toBeGreaterThanOrEqual(5001);
      // The session's keepalives moved with the client: still alive, well past its ttl.
      expect(session.expired).toBe(false);
      expect((await session.leaseHandle.timeToLive()).ttl).toBeGreaterThan(0);
      await session.close();
    } finally {
      await watcher.close();
      await writer.close();
    }
    // 5000 serial writes through two member restarts: on a loaded machine (and over the
    // gateway, whose calls cost more client CPU) that outlasts the default minute.
  }, 180_000);

  it('replaces a connection that stays open but answers nothing (keepalive pings), and cut connections, without losing events', async () => {
    const proxies: TcpProxy[] = await Promise.all(t.cluster.members.map((m) => startTcpProxy(m.endpoint)));
    const watcher = new Etcd({
      endpoints: proxies.map((x) => x.endpoint),
      dialTimeoutMs: 1000,
      keepaliveTimeMs: 5000,
      keepaliveTimeoutMs: 1000,
    });
    const writer = new Etcd({ endpoints: t.cluster.endpoints, dialTimeoutMs: 2000 });
    try {
      const p = uniquePrefix('cluster-proxy');
      const start = (await writer.put(`${p}start`, 'x')).revision + 1n;
      const c = collect(watcher, p, start);
      const disconnects: EtcdError[] = [];
      c.w.on('disconnected', (e) => disconnects.push(e));
      await c.w.ready;
      const writing = writeKeys(writer, p, 1500);
      await sleep(300);
      // A silent partition: bytes vanish, the socket stays open.
      const silent = proxies.find((x) => x.endpoint === watcher.endpoint)!;
      silent.blackhole(true);
      await until(() => disconnects.length > 0, {
        what: 'the silent connection to be replaced',
        timeoutMs: 60_000,
      });
      silent.blackhole(false);
      // A hard cut of whichever connection is in use now.
      await sleep(300);
      proxies.find((x) => x.endpoint === watcher.endpoint)!.cut();
      await writing;
      const last = (await writer.put(`${p}end`, 'x')).revision;
      await until(() => (c.batches.at(-1)?.revision ?? 0n) >= last, {
        what: 'the watcher to reach the last write',
        timeoutMs: 60_000,
      });
      c.w.close();
      await c.done;
      const truth = await history(t.cluster.endpoints, p, start, last);
      expect(c.batches.map((b) => b.revision)).toEqual(truth);
      expect(disconnects.length).toBeGreaterThanOrEqual(2);
    } finally {
      await watcher.close();
      await writer.close();
      await Promise.all(proxies.map((x) => x.close()));
    }
  });
});

describe('sessions across a silent partition', () => {
  it('keeps a short session alive when the member it talks to goes silent', async () => {
    const proxies: TcpProxy[] = await Promise.all(t.cluster.members.map((m) => startTcpProxy(m.endpoint)));
    const etcd = new Etcd({
      endpoints: proxies.map((x) => x.endpoint),
      dialTimeoutMs: 1000,
      requestTimeoutMs: 2000,
    });
    try {
      const session = await etcd.session({ ttl: 3 });
      await session.leaseHandle.keepAlive();
      const silent = proxies.find((x) => x.endpoint === etcd.endpoint)!;
      silent.blackhole(true);
      // Two full TTLs: only keepalives through another member can keep the session.
      await sleep(6000);
      expect(session.expired).toBe(false);
      expect(etcd.endpoint).not.toBe(silent.endpoint);
      expect((await session.leaseHandle.timeToLive()).ttl).toBeGreaterThan(0);
      silent.blackhole(false);
      await session.close();
    } finally {
      await etcd.close();
      await Promise.all(proxies.map((x) => x.close()));
    }
  });
});

describe('cluster and maintenance calls', () => {
  it('lists members, reports every endpoint status, agrees on hashes and moves the leader', async () => {
    await using etcd = new Etcd({ endpoints: t.cluster.endpoints, dialTimeoutMs: 2000 });
    await t.cluster.waitHealthy();
    const members = await etcd.cluster.memberList();
    expect(members).toHaveLength(3);
    expect(members.map((m) => m.clientUrls[0]).sort()).toEqual(
      t.cluster.members.map((m) => m.clientUrl).sort(),
    );
    const statuses = await etcd.maintenance.statusAll();
    const ok = statuses.filter((s) => 'version' in s);
    expect(ok).toHaveLength(3);
    const leaders = new Set(ok.map((s) => ('leader' in s ? s.leader : 0n)));
    expect(leaders.size).toBe(1);
    expect(ok.filter((s) => 'isLeader' in s && s.isLeader)).toHaveLength(1);
    expect(ok.every((s) => 'version' in s && s.version.startsWith('3.'))).toBe(true);

    const rev = (await etcd.put(uniquePrefix('hash'), 'x')).revision;
    // A follower may not have applied `rev` yet (FutureRevisionError): ask it again until it has.
    const hashAt = async (endpoint: string) => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          return await etcd.maintenance.hashKv(rev, { endpoint });
        } catch (err) {
          if (!(err instanceof FutureRevisionError) || Date.now() > deadline) throw err;
          await sleep(20);
        }
      }
    };
    if (testTransport() === 'gateway') {
      // etcd 3.4's gateway routes HashKV nowhere (its path is Hash's): a typed error says so.
      await expect(etcd.maintenance.hashKv(rev)).rejects.toThrow(/HTTP gateway .* has no route/);
    } else {
      const hashes = await Promise.all(t.cluster.endpoints.map(hashAt));
      expect(new Set(hashes.map((h) => h.hash)).size).toBe(1);
    }

    const health = await etcd.maintenance.healthAll();
    expect(health.every((h) => h.healthy)).toBe(true);

    const leader = ok.find((s) => 'isLeader' in s && s.isLeader)!;
    const target = members.find((m) => 'memberId' in leader && m.id !== leader.memberId)!;
    await etcd.maintenance.moveLeader(target.id);
    const after = await etcd.maintenance.status({ endpoint: t.cluster.endpoints[0]! });
    expect(after.leader).toBe(target.id);
  });

  it('reports a member that is down, and its health as failed', async () => {
    await using etcd = new Etcd({ endpoints: t.cluster.endpoints, dialTimeoutMs: 800 });
    const down = t.cluster.members[2]!;
    await down.kill();
    try {
      const statuses = await etcd.maintenance.statusAll();
      const failed = statuses.filter((s) => 'error' in s);
      expect(failed.map((s) => s.endpoint)).toEqual([down.endpoint]);
      const health = await etcd.maintenance.health({ endpoint: down.endpoint });
      expect(health.healthy).toBe(false);
      expect(health.error).toBeTruthy();
    } finally {
      await down.restart();
      await t.cluster.waitHealthy();
    }
  });
});

describe('endpoint discovery', () => {
  it('learns the other members from one endpoint, and then survives that member going down', async () => {
    const first = t.cluster.members[0]!;
    await using etcd = new Etcd({ endpoints: [first.endpoint], dialTimeoutMs: 1500 });
    const added = await etcd.syncEndpoints();
    expect(added.length).toBe(2);
    expect(etcd.endpoints).toHaveLength(3);
    await first.kill();
    try {
      const key = uniquePrefix('discovered');
      // A read notices the dead connection and moves on (a write sent on it would have an unknown outcome).
      await etcd.get(key);
      await etcd.put(key, 'still here');
      expect((await etcd.get(key))?.value.toString()).toBe('still here');
      expect(etcd.endpoint).not.toBe(first.endpoint);
    } finally {
      await first.restart();
      await t.cluster.waitHealthy();
    }
  });
});
