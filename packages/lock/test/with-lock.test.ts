import { setTimeout as sleep } from 'node:timers/promises';
import { AbortError, InvalidArgumentError, op, type Session } from '@etcdkit/core';
import { listKeys, track, uniqueName, untilExists, untilKeys, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { acquireLock, LockReleasedError, LockTimeoutError, withLock } from '../src/index.js';

const t = useEtcd();

describe('withLock', () => {
  it('runs fn under the lock with its fencing token and signal, returns its result, unlocks', async () => {
    const etcd = t.client();
    const name = uniqueName('basic');
    const result = await withLock(etcd, name, async ({ fencingToken, signal, key, isOwner }) => {
      expect(typeof fencingToken).toBe('bigint');
      expect(signal.aborted).toBe(false);
      expect(await listKeys(etcd, `${name}/`)).toEqual([key]);
      expect((await etcd.get(key))!.createRevision).toBe(fencingToken);
      const r = await etcd
        .txn()
        .if(isOwner())
        .then(op.put(`${name}-data`, 'x'))
        .commit();
      expect(r.succeeded).toBe(true);
      return 42;
    });
    expect(result).toBe(42);
    expect(await listKeys(etcd, `${name}/`)).toEqual([]);
  });

  it('excludes concurrent callers of one process (queued locally on one shared session) and of others', async () => {
    const name = uniqueName('counter');
    const counter = `${name}-value`;
    const admin = t.client();
    await admin.put(counter, '0');
    const clients = [t.client(), t.client(), t.client(), t.client()];
    const sessions = new Map<unknown, Set<Session>>();
    await Promise.all(
      clients.flatMap((etcd) =>
        [1, 2].map(async () => {
          for (let i = 0; i < 10; i++)
            await withLock(etcd, name, async ({ session }) => {
              if (!sessions.has(etcd)) sessions.set(etcd, new Set());
              sessions.get(etcd)!.add(session);
              const v = Number((await etcd.get(counter))!.value.toString());
              await sleep(0);
              await etcd.put(counter, String(v + 1));
            });
        }),
      ),
    );
    expect((await admin.get(counter))!.value.toString()).toBe('80');
    // Each client reused one session for all of its calls.
    for (const etcd of clients) expect(sessions.get(etcd)!.size).toBe(1);
    expect(await listKeys(admin, `${name}/`)).toEqual([]);
  });

  it("rethrows fn's error as it is and unlocks", async () => {
    const etcd = t.client();
    const name = uniqueName('throws');
    const boom = new Error('boom');
    await expect(
      withLock(etcd, name, () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await listKeys(etcd, `${name}/`)).toEqual([]);
    // The name is usable again right away.
    expect(await withLock(etcd, name, () => 'again')).toBe('again');
  });

  it('times out with LockTimeoutError, waiting in etcd or behind a local caller', async () => {
    const name = uniqueName('timeout');
    const holderClient = t.client();
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const holder = withLock(holderClient, name, async () => {
      entered();
      await released;
    });
    await inside;
    // Another client waits in etcd.
    const other = t.client();
    await expect(withLock(other, name, () => 1, { timeoutMs: 200 })).rejects.toBeInstanceOf(LockTimeoutError);
    // The same client waits behind its own caller.
    await expect(withLock(holderClient, name, () => 1, { timeoutMs: 200 })).rejects.toBeInstanceOf(
      LockTimeoutError,
    );
    expect((await listKeys(other, `${name}/`)).length).toBe(1);
    release();
    await holder;
    expect(await withLock(holderClient, name, () => 'free')).toBe('free');
  });

  it('an abort while waiting rejects with AbortError and leaves no key', async () => {
    const name = uniqueName('abort');
    const admin = t.client();
    const held = await acquireLock(t.client(), name);
    const ac = new AbortController();
    const p = track(withLock(t.client(), name, () => 1, { signal: ac.signal }));
    await untilKeys(admin, `${name}/`, 2);
    ac.abort();
    await expect(p.promise).rejects.toBeInstanceOf(AbortError);
    expect(await listKeys(admin, `${name}/`)).toEqual([held.key]);
    await held.unlock();
  });

  it('reports a lock lost during fn: fn sees its signal abort, and withLock rejects', async () => {
    const name = uniqueName('lost');
    const admin = t.client();
    let sawAbort: unknown;
    const p = withLock(t.client(), name, async ({ key, signal }) => {
      await admin.delete(key);
      if (!signal.aborted) await new Promise((r) => signal.addEventListener('abort', r));
      sawAbort = signal.reason;
      return 'done anyway';
    });
    await expect(p).rejects.toBeInstanceOf(LockReleasedError);
    expect(sawAbort).toBeInstanceOf(LockReleasedError);
  });

  it('acquireLock supports await using, and takes a given session', async () => {
    const name = uniqueName('using');
    const etcd = t.client();
    const session = await etcd.session({ ttl: 5 });
    {
      await using lock = await acquireLock(etcd, name, { session });
      expect(lock.key).toBe(`${name}/${session.lease.toString(16)}`);
      expect(lock.session).toBe(session);
      await untilExists(etcd, lock.key);
    }
    expect(await listKeys(etcd, `${name}/`)).toEqual([]);
  });

  it('refuses bad input with InvalidArgumentError', async () => {
    const etcd = t.client();
    await expect(withLock(etcd, '', () => 1)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(withLock(etcd, uniqueName('x'), () => 1, { ttl: 0 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(withLock(etcd, uniqueName('x'), 'nope' as never)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(withLock({} as never, uniqueName('x'), () => 1)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });
});
