/**
 * The public contract of shared/design.md for STM, lock inspection, several locks at once and
 * the recipes, exercised once end to end: a rename fails here first.
 */
import { Etcd, EtcdError, StmConflictError } from '@etcdkit/core';
import { lockAll, Mutex, withLocks } from '@etcdkit/lock';
import { Barrier, Counter, DoubleBarrier, SharedValue } from '@etcdkit/recipes';
import { type EtcdServer, startEtcd } from '@etcdkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let server: EtcdServer;
let etcd: Etcd;
beforeAll(async () => {
  server = await startEtcd();
  etcd = new Etcd({ endpoints: server.endpoints, dialTimeoutMs: 2000, requestTimeoutMs: 5000 });
});
afterAll(async () => {
  await etcd?.close();
  await server?.close();
});

const p = `contract-more-${process.pid}/`;

describe('the public contract: STM, inspection, multi-lock, recipes', () => {
  it('core: etcd.stm() with every option; StmConflictError', async () => {
    await etcd.put(`${p}x`, '1');
    for (const isolation of [
      'serializable-snapshot',
      'serializable',
      'repeatable-read',
      'read-committed',
    ] as const) {
      const result = await etcd.stm(
        async (tx) => {
          const v = await tx.get(`${p}x`);
          expect(v).toBeInstanceOf(Buffer);
          tx.put(`${p}x`, String(Number(v!.toString()) + 1));
          tx.delete(`${p}gone`);
          return isolation;
        },
        { isolation, maxRetries: 3, signal: new AbortController().signal, prefetch: [`${p}x`] },
      );
      expect(result).toBe(isolation);
    }
    expect((await etcd.get(`${p}x`))?.value.toString()).toBe('5');
    const err = await etcd
      .stm(
        async (tx) => {
          await tx.get(`${p}x`);
          await etcd.put(`${p}x`, 'changed');
          tx.put(`${p}x`, 'mine');
        },
        { maxRetries: 0 },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StmConflictError);
    expect(err).toBeInstanceOf(EtcdError);
  });

  it('lock: Mutex.holder / Mutex.waiters, lockAll, withLocks', async () => {
    const name = `${p}lock`;
    expect(await Mutex.holder(etcd, name)).toBeUndefined();
    const session = await etcd.session({ ttl: 10 });
    const m = await new Mutex(session, name).lock();
    const holder = await Mutex.holder(etcd, name);
    expect(holder).toEqual({ key: m.key, lease: session.lease, createRevision: m.fencingToken });
    expect(await Mutex.waiters(etcd, name)).toEqual([]);
    await m.unlock();
    const all = await lockAll(session, [`${p}b`, `${p}a`], { timeoutMs: 5000 });
    expect([...all.fencingTokens.keys()]).toEqual([`${p}a`, `${p}b`]);
    expect(typeof all.fencingTokens.get(`${p}a`)).toBe('bigint');
    expect(all.signal).toBeInstanceOf(AbortSignal);
    await all.unlock();
    const r = await withLocks(
      etcd,
      [`${p}a`, `${p}b`],
      async ({ fencingTokens, signal }) => {
        expect(signal.aborted).toBe(false);
        return fencingTokens.size;
      },
      { ttl: 10, timeoutMs: 5000 },
    );
    expect(r).toBe(2);
    await session.close();
  });

  it('recipes: Counter, SharedValue, Barrier, DoubleBarrier', async () => {
    const c = new Counter(etcd, `${p}counter`);
    expect(await c.add(5)).toBe(5n);
    expect(await c.get()).toBe(5n);
    const sv = new SharedValue(etcd, `${p}shared`);
    const { value, version } = await sv.get();
    expect(value).toBeUndefined();
    expect(typeof version).toBe('bigint');
    expect(await sv.trySet('v', version)).toBe(true);
    expect(await sv.trySet('w', version)).toBe(false);
    const b = new Barrier(etcd, `${p}barrier`);
    await b.hold();
    const waiting = b.wait({ signal: new AbortController().signal });
    await b.release();
    await waiting;
    const session = await etcd.session({ ttl: 10 });
    const db = new DoubleBarrier(session, `${p}double`, 1);
    await db.enter({ signal: new AbortController().signal });
    await db.leave({ signal: new AbortController().signal });
    await session.close();
  });
});
