/**
 * The public contract of shared/design.md, exercised once end to end: these names are what users
 * (and acceptance checks) rely on, so a rename fails here first.
 */
import { mirror } from '@etcdkit/config-sync';
import { compare, type Etcd, op } from '@etcdkit/core';
import { Election } from '@etcdkit/election';
import { Mutex, withLock } from '@etcdkit/lock';
import { until, useEtcd } from '@etcdkit/testkit/vitest';
import { beforeAll, describe, expect, it } from 'vitest';

const t = useEtcd({ client: { dialTimeoutMs: 2000, requestTimeoutMs: 5000 } });
let etcd: Etcd;
beforeAll(() => {
  etcd = t.etcd;
});

describe('the public contract', () => {
  it('core: KV, txn, lease, session, watch, namespace', async () => {
    const p = `contract-${process.pid}/`;
    const put = await etcd.put(`${p}a`, 'x', { prevKv: true });
    expect(typeof put.revision).toBe('bigint');
    const kv = await etcd.get(`${p}a`, { serializable: false });
    expect(kv?.value).toBeInstanceOf(Buffer);
    expect(typeof kv?.createRevision).toBe('bigint');
    const r = await etcd.range({ prefix: p, limit: 10, sort: { target: 'key', order: 'ascend' } });
    expect(r).toMatchObject({ more: false, count: 1 });
    const scanned = [];
    for await (const x of etcd.scan({ prefix: p, pageSize: 10 })) scanned.push(x);
    expect(scanned).toHaveLength(1);
    const t = await etcd
      .txn()
      .if(compare.value(`${p}a`, '==', 'x'), compare.version(`${p}a`, '>', 0))
      .then(op.put(`${p}b`, 'y'), op.get(`${p}a`), op.delete(`${p}none`))
      .else(op.txn({ then: [op.get(`${p}a`)] }))
      .commit();
    expect(t.succeeded).toBe(true);
    expect(t.responses).toHaveLength(3);
    const lease = await etcd.lease.grant(30);
    expect(typeof lease.id).toBe('bigint');
    expect(lease.signal).toBeInstanceOf(AbortSignal);
    await lease.keepAlive();
    expect((await lease.timeToLive()).ttl).toBeGreaterThan(0);
    await lease.revoke();
    const session = await etcd.session({ ttl: 10 });
    expect(typeof session.lease).toBe('bigint');
    expect(session.ttl).toBe(10);
    const w = etcd.watch({ prefix: p, prevKv: true });
    await w.ready;
    await etcd.put(`${p}b`, 'z');
    for await (const ev of w) {
      expect(ev).toMatchObject({ type: 'put' });
      expect(ev.prevKv?.value.toString()).toBe('y');
      break;
    }
    const ns = etcd.namespace(p);
    expect((await ns.get('a'))?.key.toString()).toBe('a');
    const del = await etcd.delete({ prefix: p }, { prevKv: true });
    expect(del.deleted).toBe(2);
    await etcd.compact(del.revision);
    await session.close();
  });

  it('lock: Mutex and withLock', async () => {
    const session = await etcd.session({ ttl: 10 });
    const m = new Mutex(session, `contract-lock-${process.pid}`);
    await m.lock({ timeoutMs: 5000 });
    expect(typeof m.fencingToken).toBe('bigint');
    expect(m.key).toContain(session.lease.toString(16));
    const guarded = await etcd.txn().if(m.isOwner()).commit();
    expect(guarded.succeeded).toBe(true);
    const other = await etcd.session({ ttl: 10 });
    expect(await new Mutex(other, `contract-lock-${process.pid}`).tryLock()).toBe(false);
    const token = m.fencingToken;
    await m.unlock();
    const out = await withLock(
      etcd,
      `contract-lock-${process.pid}`,
      async ({ fencingToken, signal }) => {
        expect(signal.aborted).toBe(false);
        return fencingToken;
      },
      { ttl: 10, timeoutMs: 5000 },
    );
    expect(out).toBeGreaterThan(token);
    await session.close();
    await other.close();
  });

  it('election: campaign, proclaim, leader, observe, resign', async () => {
    const session = await etcd.session({ ttl: 10 });
    const name = `contract-election-${process.pid}`;
    const e = new Election(session, name);
    const ac = new AbortController();
    const seen: (string | undefined)[] = [];
    const observing = (async () => {
      for await (const leader of e.observe({ signal: ac.signal })) {
        seen.push(leader?.value.toString());
        if (seen.length === 3) ac.abort();
      }
    })();
    // The observer reports the state it finds first: campaign only once it has (undefined = no
    // leader), and proclaim once it saw the first leader, so each state is one it must report.
    await until(() => seen.length === 1, { what: 'the observer to report that there is no leader' });
    await e.campaign('one');
    await until(() => seen.length === 2, { what: 'the observer to report the first leader' });
    await e.proclaim('two');
    const leader = await e.leader();
    expect(leader?.value.toString()).toBe('two');
    expect(typeof leader?.createRevision).toBe('bigint');
    expect(typeof leader?.lease).toBe('bigint');
    await e.resign();
    await observing;
    expect(seen).toEqual([undefined, 'one', 'two']);
    await session.close();
  });

  it('config-sync: mirror with snapshot, subscribe, observable, events, changes', async () => {
    const p = `contract-config-${process.pid}/`;
    await etcd.put(`${p}db/url`, 'postgres://a');
    const cfg = await mirror(etcd, p, { pageSize: 100 });
    expect(cfg.get('db/url')).toBe('postgres://a');
    expect(cfg.snapshot().get('db/url')).toBe('postgres://a');
    expect(typeof cfg.revision).toBe('bigint');
    expect(cfg.status).toBe('live');
    const snapshots: ReadonlyMap<string, string>[] = [];
    const sub = cfg.subscribe((s) => snapshots.push(s));
    expect(typeof (cfg as unknown as Record<symbol, () => unknown>)[Symbol.observable]).toBe('function');
    const invalid: unknown[] = [];
    cfg.on('invalid', (e) => invalid.push(e));
    cfg.on('error', () => {});
    const changes = cfg.changes();
    await etcd.put(`${p}db/url`, 'postgres://b');
    const next = await changes[Symbol.asyncIterator]().next();
    expect(next.value).toMatchObject({
      type: 'put',
      key: 'db/url',
      value: 'postgres://b',
      prev: 'postgres://a',
    });
    expect(snapshots.map((s) => s.get('db/url'))).toEqual(['postgres://a', 'postgres://b']);
    sub.unsubscribe();
    await cfg.close();
    expect(invalid).toEqual([]);
    await etcd.delete({ prefix: p });
  });
});
