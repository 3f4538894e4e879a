import { setTimeout as sleep } from 'node:timers/promises';
import { AbortError, InvalidArgumentError, op } from '@etcdkit/core';
import { listKeys, uniqueName, untilExists, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { LockReleasedError, LockTimeoutError, lockAll, Mutex, withLocks } from '../src/index.js';

const t = useEtcd();

function shuffledPair(names: string[]): string[] {
  const i = Math.floor(Math.random() * names.length);
  let j = Math.floor(Math.random() * (names.length - 1));
  if (j >= i) j++;
  return [names[i]!, names[j]!];
}

describe('lockAll / withLocks', () => {
  it('6 workers take overlapping pairs of 4 locks in random orders: no deadlock, one holder per name, guarded counters exact', async () => {
    const base = uniqueName('pairs');
    const names = ['a', 'b', 'c', 'd'].map((n) => `${base}-${n}`);
    const admin = t.client();
    const inUse = new Set<string>();
    const taken = new Map<string, number>(names.map((n) => [n, 0]));
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const session = await t.session();
        const etcd = session.client;
        for (let i = 0; i < 15; i++) {
          const pair = shuffledPair(names);
          const held = await lockAll(session, pair);
          try {
            for (const n of pair) {
              expect(inUse.has(n), `${n} held twice`).toBe(false);
              inUse.add(n);
            }
            for (const n of pair) {
              const v = Number((await etcd.get(`${n}-count`))?.value.toString() ?? '0');
              await sleep(0); // widen the window a second holder would need
              const r = await etcd
                .txn()
                .if(held.isOwner(n))
                .then(op.put(`${n}-count`, String(v + 1)))
                .commit();
              expect(r.succeeded).toBe(true);
              taken.set(n, taken.get(n)! + 1);
            }
            expect([...held.fencingTokens.keys()]).toEqual([...pair].sort());
            for (const n of pair) inUse.delete(n);
          } finally {
            await held.unlock();
          }
        }
      }),
    );
    for (const n of names) {
      expect(Number((await admin.get(`${n}-count`))?.value.toString() ?? '0')).toBe(taken.get(n));
      expect(await listKeys(admin, `${n}/`)).toEqual([]);
    }
    expect([...taken.values()].reduce((a, b) => a + b, 0)).toBe(6 * 15 * 2);
  });

  it('withLocks: callers of one client share its session and queue locally; counters stay exact', async () => {
    const base = uniqueName('with');
    const names = ['x', 'y', 'z'].map((n) => `${base}-${n}`);
    const clients = [t.client(), t.client()];
    const inUse = new Set<string>();
    let runs = 0;
    await Promise.all(
      Array.from({ length: 6 }, async (_, w) => {
        const etcd = clients[w % 2]!;
        for (let i = 0; i < 8; i++) {
          const pair = shuffledPair(names);
          await withLocks(
            etcd,
            pair,
            async ({ fencingTokens, ownsAll, signal }) => {
              expect(signal.aborted).toBe(false);
              expect([...fencingTokens.keys()]).toEqual([...pair].sort());
              for (const n of pair) {
                expect(inUse.has(n)).toBe(false);
                inUse.add(n);
              }
              await sleep(0);
              const r = await etcd
                .txn()
                .if(...ownsAll())
                .then(...pair.map((n) => op.put(`${n}-last`, String(w))))
                .commit();
              expect(r.succeeded).toBe(true);
              for (const n of pair) inUse.delete(n);
              runs++;
            },
            { ttl: 10 },
          );
        }
      }),
    );
    expect(runs).toBe(48);
    for (const n of names) expect(await listKeys(clients[0]!, `${n}/`)).toEqual([]);
  });

  it('releases what it took when a later lock cannot be had (timeout), and says why', async () => {
    const base = uniqueName('partial');
    const [first, second] = [`${base}-1`, `${base}-2`];
    const admin = t.client();
    const blocker = await new Mutex(await t.session(), second).lock();
    const session = await t.session();
    const err = await lockAll(session, [second, first], { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect(await listKeys(admin, `${first}/`)).toEqual([]);
    expect(await listKeys(admin, `${second}/`)).toEqual([blocker.key]);
    const ac = new AbortController();
    const waiting = lockAll(session, [first, second], { signal: ac.signal });
    await untilExists(admin, `${second}/${session.lease.toString(16)}`);
    ac.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    expect(await listKeys(admin, `${first}/`)).toEqual([]);
    await blocker.unlock();
  });

  it('the combined signal aborts when any one lock is lost', async () => {
    const base = uniqueName('lost');
    const admin = t.client();
    const held = await lockAll(await t.session(), [`${base}-1`, `${base}-2`]);
    expect(held.signal.aborted).toBe(false);
    const lost = new Promise<unknown>((resolve) =>
      held.signal.addEventListener('abort', () => resolve(held.signal.reason), { once: true }),
    );
    await admin.delete(held.mutexes.get(`${base}-2`)!.key);
    expect(await lost).toBeInstanceOf(LockReleasedError);
    await expect(held.unlock()).rejects.toBeInstanceOf(LockReleasedError);
    expect(await listKeys(admin, `${base}-1/`)).toEqual([]);
  });

  it('checks its input', async () => {
    const session = await t.session();
    await expect(lockAll(session, [])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(lockAll(session, ['a', ''])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(lockAll(session, 'ab' as unknown as string[])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(lockAll(session, ['a'], { timeoutMs: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(withLocks(t.client(), ['a'], 'fn' as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    // a repeated name is taken once
    const held = await lockAll(
      session,
      [uniqueName('dup'), uniqueName('dup2')].flatMap((n) => [n, n]),
    );
    expect(held.fencingTokens.size).toBe(2);
    await held.unlock();
  });
});
