import {
  AbortError,
  compare,
  DeadlineExceededError,
  type Etcd,
  InvalidArgumentError,
  op,
  type Session,
  SessionExpiredError,
} from '@etcdkit/core';
import { spawnEtcdctl } from '@etcdkit/testkit';
import {
  deferred,
  expectedToSettle,
  isPending,
  spawnTs,
  uniqueName,
  until,
  useEtcd,
} from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { CampaignInProgressError, Election, NotLeaderError } from '../src/index.js';

const t = useEtcd();
const sessions: Session[] = [];

async function session(ttl = 10, c: Etcd = t.etcd): Promise<Session> {
  const s = await c.session({ ttl });
  sessions.push(s);
  return s;
}

t.defer(() => Promise.allSettled(sessions.map((s) => s.close())));

describe('Election', () => {
  it('wins an empty election with the key layout of etcd’s Go client, and resigns', async () => {
    const name = uniqueName('basic');
    const s = await session();
    const e = new Election(s, name);
    expect(await e.leader()).toBeUndefined();
    await e.campaign('alpha');
    expect(e.elected).toBe(true);
    const leader = await e.leader();
    expect(leader?.key.toString()).toBe(`${name}/${s.lease.toString(16)}`);
    expect(leader?.value.toString()).toBe('alpha');
    expect(leader?.lease).toBe(s.lease);
    expect(leader?.createRevision).toBe(e.createRevision);
    const raw = await t.etcd.get(`${name}/${s.lease.toString(16)}`);
    expect(raw?.lease).toBe(s.lease);
    await e.resign();
    expect(e.elected).toBe(false);
    expect(await e.leader()).toBeUndefined();
    expect(await t.etcd.get(e.key)).toBeUndefined();
    // A second resign is a no-op.
    await e.resign();
  });

  it('hands leadership over in creation order on resign, each waiter watching only its predecessor', async () => {
    const name = uniqueName('order');
    const [a, b, c] = [
      new Election(await session(), name),
      new Election(await session(), name),
      new Election(await session(), name),
    ];
    await a.campaign('a');
    const bWon = b.campaign('b');
    await until(async () => (await t.etcd.get(b.key)) !== undefined, { what: 'b enqueued' });
    const cWon = c.campaign('c');
    await until(async () => (await t.etcd.get(c.key)) !== undefined, { what: 'c enqueued' });
    expect(await isPending(bWon)).toBe(true);
    expect(await isPending(cWon)).toBe(true);

    await a.resign();
    await bWon;
    expect(b.elected).toBe(true);
    expect((await b.leader())?.value.toString()).toBe('b');
    expect(await isPending(cWon)).toBe(true);

    await b.resign();
    await cWon;
    expect((await c.leader())?.value.toString()).toBe('c');
    await c.resign();
  });

  it('a candidate leaving the middle of the queue does not elect the one behind it early', async () => {
    const name = uniqueName('middle');
    const [a, b, c] = [
      new Election(await session(), name),
      new Election(await session(), name),
      new Election(await session(), name),
    ];
    await a.campaign('a');
    const leave = new AbortController();
    const bWon = expectedToSettle(b.campaign('b', { signal: leave.signal }));
    await until(async () => (await t.etcd.get(b.key)) !== undefined, { what: 'b enqueued' });
    const cWon = c.campaign('c');
    await until(async () => (await t.etcd.get(c.key)) !== undefined, { what: 'c enqueued' });

    leave.abort();
    await expect(bWon).rejects.toBeInstanceOf(AbortError);
    expect(await t.etcd.get(b.key)).toBeUndefined();
    // c woke up on b's delete, found a still ahead and went back to waiting.
    expect(await isPending(cWon, 300)).toBe(true);
    expect((await c.leader())?.value.toString()).toBe('a');

    await a.resign();
    await cWon;
    expect(c.elected).toBe(true);
    await c.resign();
  });

  it('five candidates: exactly one leader at a time, checked with guarded marks in etcd', async () => {
    const name = uniqueName('five');
    const mark = `${name}-mark`;
    await t.etcd.put(mark, '');
    const clients = Array.from({ length: 5 }, () => t.client());
    const termsWanted = 20;
    let terms = 0;
    const violations: string[] = [];
    const order: string[] = [];

    const ready: number[] = [];
    const allReady = deferred();
    const candidate = async (i: number): Promise<void> => {
      const c = clients[i]!;
      const s = await c.session({ ttl: 10 });
      const e = new Election(s, name);
      const id = `c${i}`;
      // Everyone campaigns at the same moment.
      ready.push(i);
      if (ready.length === 5) allReady.resolve();
      await allReady.promise;
      try {
        for (;;) {
          await e.campaign(id);
          if (terms >= termsWanted) {
            await e.resign();
            return;
          }
          const term = ++terms;
          order.push(id);
          // Take the mark: only possible if no other leader holds it.
          const take = await c
            .txn()
            .if(e.isLeader(), compare.value(mark, '==', ''))
            .then(op.put(mark, id))
            .commit();
          if (!take.succeeded) violations.push(`term ${term}: ${id} found the mark held by another leader`);
          const leader = await e.leader();
          if (!leader?.key.equals(e.key))
            violations.push(`term ${term}: ${id} elected but leader() says otherwise`);
          await new Promise((r) => setTimeout(r, Math.random() * 5));
          const log = await c
            .txn()
            .if(e.isLeader(), compare.value(mark, '==', id))
            .then(op.put(`${name}-log/${String(term).padStart(3, '0')}`, id))
            .commit();
          if (!log.succeeded) violations.push(`term ${term}: ${id} lost the mark while leading`);
          const release = await c
            .txn()
            .if(e.isLeader(), compare.value(mark, '==', id))
            .then(op.put(mark, ''))
            .commit();
          if (!release.succeeded) violations.push(`term ${term}: ${id} could not release the mark`);
          await e.resign();
        }
      } finally {
        await s.close();
        await c.close();
      }
    };

    await Promise.all([0, 1, 2, 3, 4].map(candidate));
    expect(violations).toEqual([]);
    expect(terms).toBe(termsWanted);
    const log = await t.etcd.range({ prefix: `${name}-log/` });
    expect(log.kvs.map((kv) => kv.value.toString())).toEqual(order);
    // Leadership rotated: a resigning leader goes to the back of the queue.
    expect(new Set(order).size).toBeGreaterThan(1);
    expect(await t.etcd.range({ prefix: `${name}/`, countOnly: true })).toMatchObject({ count: 0 });
  });

  it('a leader process killed with SIGKILL is replaced once its lease expires', async () => {
    const name = uniqueName('sigkill');
    const ttl = 2;
    const child = spawnTs(new URL('./fixtures/leader-child.ts', import.meta.url), [
      t.endpoints[0]!,
      name,
      'child',
      String(ttl),
    ]);
    try {
      const elected = await child.waitForLine(/^elected \S+$/, { what: 'the child to be elected' });
      const childKey = elected.slice('elected '.length);
      const e = new Election(await session(10), name);
      expect((await e.leader())?.key.toString()).toBe(childKey);
      const won = e.campaign('parent');
      await until(async () => (await t.etcd.get(e.key)) !== undefined, { what: 'parent enqueued' });
      expect(await isPending(won)).toBe(true);

      const killedAt = Date.now();
      await child.kill('SIGKILL');
      await won;
      const failoverMs = Date.now() - killedAt;
      // etcd expires the lease within ttl of the child's last keepalive: reported, not asserted
      // (a duration depends on the machine's load).
      console.info(`failover after SIGKILL of the leader (ttl ${ttl}s): ${failoverMs} ms`);
      expect((await e.leader())?.value.toString()).toBe('parent');
      await e.resign();
    } finally {
      await child.kill('SIGKILL');
    }
  });

  it('campaign rejects with SessionExpiredError when its session ends while waiting', async () => {
    const name = uniqueName('expired-waiting');
    const a = new Election(await session(), name);
    await a.campaign('a');
    const s = await session(3);
    const b = new Election(s, name);
    const bWon = expectedToSettle(b.campaign('b'));
    await until(async () => (await t.etcd.get(b.key)) !== undefined, { what: 'b enqueued' });
    await t.etcd.lease.revoke(s.lease);
    await expect(bWon).rejects.toBeInstanceOf(SessionExpiredError);
    expect(b.elected).toBe(false);
    await expect(b.campaign('again')).rejects.toBeInstanceOf(SessionExpiredError);
    await a.resign();
  });

  it('no phantom leadership: a candidate whose key vanished while waiting is not elected', async () => {
    const name = uniqueName('phantom');
    const a = new Election(await session(), name);
    await a.campaign('a');
    const b = new Election(await session(), name);
    const bWon = expectedToSettle(b.campaign('b'));
    await until(async () => (await t.etcd.get(b.key)) !== undefined, { what: 'b enqueued' });
    await t.etcd.delete(b.key);
    await a.resign();
    await expect(bWon).rejects.toBeInstanceOf(NotLeaderError);
    expect(b.elected).toBe(false);
    expect(await b.leader()).toBeUndefined();
    // The session is still alive: campaigning again works.
    await b.campaign('b2');
    expect((await b.leader())?.value.toString()).toBe('b2');
    await b.resign();
  });

  it('abort, timeout and resign() end a pending campaign and withdraw its key', async () => {
    const name = uniqueName('abort');
    const a = new Election(await session(), name);
    await a.campaign('a');
    const b = new Election(await session(), name);

    const ac = new AbortController();
    const aborted = expectedToSettle(b.campaign('b', { signal: ac.signal }));
    await until(async () => (await t.etcd.get(b.key)) !== undefined, { what: 'b enqueued' });
    ac.abort(new Error('changed my mind'));
    const err = await aborted.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).cause).toMatchObject({ message: 'changed my mind' });
    expect(await t.etcd.get(b.key)).toBeUndefined();

    await expect(b.campaign('b', { timeoutMs: 300 })).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(await t.etcd.get(b.key)).toBeUndefined();

    const resigned = expectedToSettle(b.campaign('b'));
    await until(async () => (await t.etcd.get(b.key)) !== undefined, { what: 'b enqueued again' });
    await b.resign();
    await expect(resigned).rejects.toBeInstanceOf(AbortError);
    expect(await t.etcd.get(b.key)).toBeUndefined();

    const pre = new AbortController();
    pre.abort();
    await expect(b.campaign('b', { signal: pre.signal })).rejects.toBeInstanceOf(AbortError);
    expect((await a.leader())?.value.toString()).toBe('a');
    await a.resign();
  });

  it('proclaim updates the value only while leader; isLeader() guards transactions', async () => {
    const name = uniqueName('proclaim');
    const e = new Election(await session(), name);
    await expect(e.proclaim('x')).rejects.toBeInstanceOf(NotLeaderError);
    const guarded = () =>
      t.etcd
        .txn()
        .if(e.isLeader())
        .then(op.put(`${name}-guarded`, 'w'))
        .commit();
    expect((await guarded()).succeeded).toBe(false);

    await e.campaign('v1');
    expect((await guarded()).succeeded).toBe(true);
    await e.proclaim('v2');
    const leader = await e.leader();
    expect(leader?.value.toString()).toBe('v2');
    expect(leader?.createRevision).toBe(e.createRevision);
    expect(leader?.modRevision).toBe(e.revision);

    // Someone deletes the leader key: the leader's writes are refused from then on.
    await t.etcd.delete(e.key);
    expect((await guarded()).succeeded).toBe(false);
    await expect(e.proclaim('v3')).rejects.toBeInstanceOf(NotLeaderError);
    expect(e.elected).toBe(false);
    expect(await t.etcd.get(e.key)).toBeUndefined();
    expect((await guarded()).succeeded).toBe(false);
  });

  it('campaigning again while leader, or from a second Election of the same session, updates the value', async () => {
    const name = uniqueName('recampaign');
    const s = await session();
    const e = new Election(s, name);
    await e.campaign('first');
    const rev = e.createRevision;
    await e.campaign('second');
    expect(e.createRevision).toBe(rev);
    expect((await e.leader())?.value.toString()).toBe('second');

    const again = new Election(s, name);
    await again.campaign('third');
    expect(again.createRevision).toBe(rev);
    expect((await again.leader())?.value.toString()).toBe('third');
    await again.resign();
    expect(await e.leader()).toBeUndefined();
  });

  it('await using resigns at the end of the block', async () => {
    const name = uniqueName('using');
    const s = await session();
    {
      await using e = new Election(s, name);
      await e.campaign('scoped');
      expect((await e.leader())?.value.toString()).toBe('scoped');
    }
    expect(await t.etcd.range({ prefix: `${name}/`, countOnly: true })).toMatchObject({ count: 0 });
  });

  it('works inside a namespace: keys are relative to it', async () => {
    const name = uniqueName('ns');
    const ns = t.etcd.namespace('tenant-a/');
    const s = await session(10, ns);
    const e = new Election(s, name);
    await e.campaign('n');
    expect((await e.leader())?.key.toString()).toBe(`${name}/${s.lease.toString(16)}`);
    expect((await t.etcd.get(`tenant-a/${name}/${s.lease.toString(16)}`))?.value.toString()).toBe('n');
    await e.resign();
  });

  it('refuses bad input with typed errors', async () => {
    const s = await session();
    expect(() => new Election(s, '')).toThrow(InvalidArgumentError);
    expect(() => new Election(undefined as unknown as Session, 'x')).toThrow(InvalidArgumentError);
    expect(() => new Election(s, 42 as unknown as string)).toThrow(InvalidArgumentError);
    const e = new Election(s, uniqueName('bad'));
    await expect(e.campaign(undefined as unknown as string)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(e.campaign('v', { timeoutMs: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    const blocker = new Election(await session(), e.prefix.subarray(0, -1));
    await blocker.campaign('first');
    const pending = expectedToSettle(e.campaign('v'));
    await expect(e.campaign('v')).rejects.toBeInstanceOf(CampaignInProgressError);
    await e.resign();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    await blocker.resign();
  });
});

describe('etcdctl interop', () => {
  it('etcdctl elect holds leadership: leader() returns its value, our campaign waits until it exits', async () => {
    const name = uniqueName('ctl-first');
    const ctl = spawnEtcdctl(['elect', name, 'alpha'], t.server);
    try {
      await ctl.waitForOutput(/^alpha$/);
      const e = new Election(await session(), name);
      const leader = await e.leader();
      expect(leader?.value.toString()).toBe('alpha');
      expect(leader?.key.toString()).toMatch(/\/[0-9a-f]+$/);
      expect(leader?.key.toString().startsWith(`${name}/`)).toBe(true);

      const won = e.campaign('beta');
      await until(async () => (await t.etcd.get(e.key)) !== undefined, { what: 'our key enqueued' });
      expect(await isPending(won)).toBe(true);
      expect(e.elected).toBe(false);

      // On SIGTERM etcdctl resigns, which elects us.
      await ctl.stop('SIGTERM');
      await won;
      expect((await e.leader())?.value.toString()).toBe('beta');
      await e.resign();
    } finally {
      await ctl.stop('SIGKILL');
    }
  });

  it('etcdctl elect waits behind our leader and wins when we resign', async () => {
    const name = uniqueName('ctl-second');
    const e = new Election(await session(), name);
    await e.campaign('ours');
    const ctl = spawnEtcdctl(['elect', name, 'theirs'], t.server);
    try {
      await until(async () => (await t.etcd.range({ prefix: `${name}/`, countOnly: true })).count === 2, {
        what: 'etcdctl enqueued',
      });
      expect(ctl.output()).toBe('');
      await e.resign();
      await ctl.waitForOutput(/^theirs$/);
      expect((await e.leader())?.value.toString()).toBe('theirs');
    } finally {
      await ctl.stop('SIGTERM');
    }
  });

  it('etcdctl elect -l sees our proclaimed values', async () => {
    const name = uniqueName('ctl-listen');
    const e = new Election(await session(), name);
    await e.campaign('v1');
    const ctl = spawnEtcdctl(['elect', '-l', name], t.server);
    try {
      await ctl.waitForOutput(/^v1$/);
      await e.proclaim('v2');
      await ctl.waitForOutput(/^v2$/);
      await e.proclaim('v3');
      await ctl.waitForOutput(/^v3$/);
      const lines = ctl.output().trim().split('\n');
      expect(lines).toEqual([e.key.toString(), 'v1', e.key.toString(), 'v2', e.key.toString(), 'v3']);
    } finally {
      await ctl.stop('SIGTERM');
      await e.resign();
    }
  });
});
