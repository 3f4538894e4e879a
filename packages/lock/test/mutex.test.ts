import { setTimeout as sleep } from 'node:timers/promises';
import { AbortError, EtcdError, InvalidArgumentError, op, SessionExpiredError } from '@etcdkit/core';
import { startTcpProxy } from '@etcdkit/testkit';
import {
  caughtUp,
  listKeys,
  track,
  uniqueName,
  untilExists,
  untilGone,
  useEtcd,
} from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { LockHeldError, LockNotHeldError, LockReleasedError, LockTimeoutError, Mutex } from '../src/index.js';

const t = useEtcd();

describe('Mutex', () => {
  it('locks with one key <name>/<lease hex> on the session lease, and unlock deletes it', async () => {
    const s = await t.session();
    const name = uniqueName('basic');
    const m = new Mutex(s, name);
    expect(m.key).toBe(`${name}/${s.lease.toString(16)}`);
    expect(m.locked).toBe(false);
    expect(await m.lock()).toBe(m);
    expect(m.locked).toBe(true);
    const kv = await s.client.get(m.key);
    expect(kv?.lease).toBe(s.lease);
    expect(kv?.createRevision).toBe(m.fencingToken);
    await m.unlock();
    expect(m.locked).toBe(false);
    expect(await listKeys(s.client, `${name}/`)).toEqual([]);
    await m.unlock(); // not held: nothing to do
  });

  it('8 clients x 25 read-modify-write increments under the lock end at exactly 200', async () => {
    const name = uniqueName('counter');
    const counter = `${name}-value`;
    const admin = t.client();
    await admin.put(counter, '0');
    const tokens: bigint[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const s = await t.session();
        const m = new Mutex(s, name);
        for (let i = 0; i < 25; i++) {
          await m.lock();
          const v = Number((await s.client.get(counter))!.value.toString());
          await sleep(0); // widen the window a lost update would need
          await s.client.put(counter, String(v + 1));
          tokens.push(m.fencingToken);
          await m.unlock();
        }
      }),
    );
    expect((await admin.get(counter))!.value.toString()).toBe('200');
    // Successive owners got strictly increasing fencing tokens.
    expect(tokens).toHaveLength(200);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]! > tokens[i - 1]!).toBe(true);
    expect(await listKeys(admin, `${name}/`)).toEqual([]);
  });

  it('gives the lock to waiters in arrival order', async () => {
    const name = uniqueName('fifo');
    const admin = t.client();
    const holder = new Mutex(await t.session(), name);
    await holder.lock();
    const order: number[] = [];
    const waiters: Promise<void>[] = [];
    for (let i = 0; i < 5; i++) {
      const m = new Mutex(await t.session(), name);
      waiters.push(
        m.lock().then(async () => {
          order.push(i);
          await m.unlock();
        }),
      );
      // The next waiter arrives only once this one is queued.
      await untilExists(admin, m.key);
    }
    expect(order).toEqual([]);
    await holder.unlock();
    await Promise.all(waiters);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('a waiter watches only its predecessor, and skips one that gives up', async () => {
    const name = uniqueName('skip');
    const admin = t.client();
    const holder = await new Mutex(await t.session(), name).lock();
    const middle = new Mutex(await t.session(), name);
    const ac = new AbortController();
    const middleLock = track(middle.lock({ signal: ac.signal }));
    await untilExists(admin, middle.key);
    const last = new Mutex(await t.session(), name);
    const lastLock = track(last.lock());
    await untilExists(admin, last.key);
    ac.abort(new Error('changed my mind'));
    const err = await middleLock.promise.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).cause).toEqual(new Error('changed my mind'));
    // The aborted waiter left no key; the last one is still queued behind the holder.
    expect(await listKeys(admin, `${name}/`)).toEqual([holder.key, last.key]);
    expect(lastLock.settled()).toBe(false);
    const holderToken = holder.fencingToken;
    await holder.unlock();
    await lastLock.promise;
    expect(last.fencingToken > holderToken).toBe(true);
    await last.unlock();
  });

  it('a waiter counts only the keys ahead of it: one behind it leaving (on the same client) does not let it in', async () => {
    const name = uniqueName('count');
    const admin = t.client();
    const holder = await new Mutex(await t.session(), name).lock();
    // Two waiters on one client share its deletion feed; the first counts one key ahead of it.
    const c = t.client();
    const first = new Mutex(await c.session({ ttl: 30 }), name);
    const firstLock = track(first.lock());
    await untilExists(admin, first.key);
    const ac = new AbortController();
    const behind = new Mutex(await c.session({ ttl: 30 }), name);
    const behindLock = track(behind.lock({ signal: ac.signal }));
    await untilExists(admin, behind.key);
    ac.abort();
    await expect(behindLock.promise).rejects.toBeInstanceOf(AbortError);
    await untilGone(admin, behind.key);
    // The deletion of the key behind it has reached the client: a later write's event on the same
    // stream came after it. The first waiter must still be waiting for the holder.
    await caughtUp(c, `${name}-sentinel`, admin);
    expect(firstLock.settled()).toBe(false);
    await holder.unlock();
    await firstLock.promise;
    expect(first.locked).toBe(true);
    await first.unlock();
  });

  it('timeoutMs rejects with LockTimeoutError and removes the waiter key', async () => {
    const name = uniqueName('timeout');
    const admin = t.client();
    const holder = await new Mutex(await t.session(), name).lock();
    const m = new Mutex(await t.session(), name);
    const err = await m.lock({ timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect((err as LockTimeoutError).timeoutMs).toBe(200);
    expect(await listKeys(admin, `${name}/`)).toEqual([holder.key]);
    expect(m.locked).toBe(false);
    // The object is usable again.
    await holder.unlock();
    await m.lock({ timeoutMs: 10_000 });
    await m.unlock();
  });

  it('an already aborted signal fails at once without touching etcd', async () => {
    const name = uniqueName('pre-aborted');
    const m = new Mutex(await t.session(), name);
    const err = await m.lock({ signal: AbortSignal.abort('no') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect(await listKeys(m.session.client, `${name}/`)).toEqual([]);
  });

  it('tryLock takes a free lock, and returns false (leaving no key) when it is held', async () => {
    const name = uniqueName('try');
    const admin = t.client();
    const a = new Mutex(await t.session(), name);
    const b = new Mutex(await t.session(), name);
    expect(await a.tryLock()).toBe(true);
    expect(await b.tryLock()).toBe(false);
    expect(b.locked).toBe(false);
    expect(await listKeys(admin, `${name}/`)).toEqual([a.key]);
    await a.unlock();
    expect(await b.tryLock()).toBe(true);
    await b.unlock();
  });

  it('isOwner() guards a txn, which fails once the session is revoked', async () => {
    const name = uniqueName('fence');
    const s = await t.session();
    const etcd = s.client;
    const m = await new Mutex(s, name).lock();
    const data = `${name}-data`;
    const ok = await etcd.txn().if(m.isOwner()).then(op.put(data, 'first')).commit();
    expect(ok.succeeded).toBe(true);
    const signal = m.signal;
    await s.close();
    const late = await etcd.txn().if(m.isOwner()).then(op.put(data, 'late')).commit();
    expect(late.succeeded).toBe(false);
    expect((await etcd.get(data))!.value.toString()).toBe('first');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(SessionExpiredError);
    await expect(m.unlock()).rejects.toBeInstanceOf(SessionExpiredError);
    expect(m.locked).toBe(false);
  });

  it('signal aborts with LockReleasedError when someone else deletes the key, and unlock says so', async () => {
    const name = uniqueName('stolen');
    const admin = t.client();
    const m = await new Mutex(await t.session(), name).lock();
    const signal = m.signal;
    expect(signal.aborted).toBe(false);
    const lost = new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason)));
    await admin.delete(m.key);
    expect(await lost).toBeInstanceOf(LockReleasedError);
    // The next owner gets in, and the old owner's compare no longer holds.
    const next = await new Mutex(await t.session(), name).lock();
    expect(next.fencingToken > m.fencingToken).toBe(true);
    const r = await admin.txn().if(m.isOwner()).commit();
    expect(r.succeeded).toBe(false);
    await expect(m.unlock()).rejects.toBeInstanceOf(LockReleasedError);
    // The guarded delete left the new owner's key alone.
    expect(await listKeys(admin, `${name}/`)).toEqual([next.key]);
    await next.unlock();
  });

  it('signal taken late still sees a loss that happened before (it follows from the lock revision)', async () => {
    const name = uniqueName('late-signal');
    const admin = t.client();
    const m = await new Mutex(await t.session(), name).lock();
    await admin.delete(m.key);
    const signal = m.signal;
    if (!signal.aborted) await new Promise((r) => signal.addEventListener('abort', r));
    expect(signal.reason).toBeInstanceOf(LockReleasedError);
    await expect(m.unlock()).rejects.toBeInstanceOf(LockReleasedError);
  });

  it('signal aborts on unlock; fencingToken and isOwner() need a held lock', async () => {
    const name = uniqueName('unlock-signal');
    const m = new Mutex(await t.session(), name);
    expect(() => m.fencingToken).toThrow(LockNotHeldError);
    expect(() => m.isOwner()).toThrow(LockNotHeldError);
    expect(() => m.signal).toThrow(LockNotHeldError);
    await m.lock();
    const signal = m.signal;
    await m.unlock();
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(LockReleasedError);
    expect(() => m.fencingToken).toThrow(LockNotHeldError);
  });

  it('a waiter whose session ends rejects with SessionExpiredError', async () => {
    const name = uniqueName('session-ends');
    const admin = t.client();
    const holder = await new Mutex(await t.session(), name).lock();
    const s = await t.session();
    const m = new Mutex(s, name);
    const p = track(m.lock());
    await untilExists(admin, m.key);
    await s.close();
    await expect(p.promise).rejects.toBeInstanceOf(SessionExpiredError);
    expect(await listKeys(admin, `${name}/`)).toEqual([holder.key]);
    // A lock on an ended session fails at once.
    await expect(m.lock()).rejects.toBeInstanceOf(SessionExpiredError);
    await holder.unlock();
  });

  it('a waiter whose key is deleted by someone else does not report a lock it lost', async () => {
    const name = uniqueName('waiter-deleted');
    const admin = t.client();
    const holder = await new Mutex(await t.session(), name).lock();
    const m = new Mutex(await t.session(), name);
    const p = track(m.lock());
    await untilExists(admin, m.key);
    await admin.delete(m.key);
    await holder.unlock();
    await expect(p.promise).rejects.toBeInstanceOf(LockReleasedError);
    expect(m.locked).toBe(false);
  });

  it('is not reentrant, and a second Mutex on the same session is refused', async () => {
    const name = uniqueName('same-session');
    const s = await t.session();
    const a = await new Mutex(s, name).lock();
    await expect(a.lock()).rejects.toBeInstanceOf(LockHeldError);
    await expect(a.tryLock()).rejects.toBeInstanceOf(LockHeldError);
    const b = new Mutex(s, name);
    // Go would report b as owner too (same key); etcdkit says why it cannot.
    const err = await b.lock().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as Error).message).toMatch(/own session/);
    expect(a.locked).toBe(true);
    expect(b.locked).toBe(false);
    await a.unlock();
    // Once a is unlocked, b may use the name on this session.
    await b.lock();
    await b.unlock();
  });

  it('adopts a key this session already has in etcd (as Go does)', async () => {
    const name = uniqueName('adopt');
    const s = await t.session();
    const m = new Mutex(s, name);
    // As if a Go process had locked with this lease (etcdctl or a crashed object of ours).
    const put = await s.client.put(m.key, '', { lease: s.lease });
    await m.lock();
    expect(m.fencingToken).toBe(put.revision);
    await m.unlock();
    expect(await listKeys(s.client, `${name}/`)).toEqual([]);
  });

  it('works inside a namespace', async () => {
    const name = uniqueName('ns');
    const root = t.client();
    const view = root.namespace('app/');
    const s = await view.session({ ttl: 10 });
    const m = await new Mutex(s, name).lock();
    expect(await listKeys(root, `app/${name}/`)).toEqual([`app/${m.key}`]);
    await m.unlock();
  });

  it('await using unlocks at the end of the scope', async () => {
    const name = uniqueName('using');
    const admin = t.client();
    const s = await t.session();
    {
      await using m = await new Mutex(s, name).lock();
      expect(await listKeys(admin, `${name}/`)).toEqual([m.key]);
    }
    expect(await listKeys(admin, `${name}/`)).toEqual([]);
  });

  it('refuses bad input with InvalidArgumentError', async () => {
    const s = await t.session();
    expect(() => new Mutex(s, '')).toThrow(InvalidArgumentError);
    expect(() => new Mutex({} as never, 'x')).toThrow(InvalidArgumentError);
    expect(() => new Mutex(s, 42 as never)).toThrow(InvalidArgumentError);
    const m = new Mutex(s, uniqueName('bad'));
    await expect(m.lock({ timeoutMs: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(m.lock({ timeoutMs: Number.NaN })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(m.lock({ signal: 'x' as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(m.locked).toBe(false);
  });

  it('an unlock that cannot reach etcd fails, and the key is removed once etcd is back', async () => {
    const name = uniqueName('partition');
    const admin = t.client();
    await using proxy = await startTcpProxy(t.server.endpoints[0]!);
    const etcd = t.client({ endpoints: [proxy.endpoint], requestTimeoutMs: 1000, dialTimeoutMs: 1000 });
    const s = await etcd.session({ ttl: 30 });
    const m = await new Mutex(s, name).lock();
    const gone = untilGone(admin, m.key);
    proxy.blackhole(true);
    const err = await m.unlock().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdError);
    expect(m.locked).toBe(false);
    // Still queued (and so still owning) while etcd cannot be reached...
    expect(await listKeys(admin, `${name}/`)).toEqual([m.key]);
    proxy.blackhole(false);
    // ...and removed by the retries once it can.
    await gone;
    await m.lock();
    await m.unlock();
  });
});
