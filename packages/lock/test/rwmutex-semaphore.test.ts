import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from '@etcdkit/core';
import { listKeys, track, uniqueName, untilExists, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { LockHeldError, LockNotHeldError, LockTimeoutError, RWMutex, Semaphore } from '../src/index.js';

const t = useEtcd();

describe('RWMutex', () => {
  it('readers share the lock; a writer waits for them', async () => {
    const name = uniqueName('rw-share');
    const admin = t.client();
    const readers = await Promise.all([1, 2, 3].map(async () => new RWMutex(await t.session(), name)));
    // All three hold it at once: none unlocks before the others got it.
    await Promise.all(readers.map((r) => r.rlock()));
    for (const r of readers) {
      expect(r.mode).toBe('read');
      expect(r.key).toMatch(new RegExp(`^${name}/read/[0-9a-f]+$`));
    }
    const w = new RWMutex(await t.session(), name);
    expect(await w.tryLock()).toBe(false);
    expect(w.key).toBeUndefined();
    const writing = track(w.lock());
    await untilExists(admin, `${name}/write/${w.session.lease.toString(16)}`);
    await readers[0]!.unlock();
    await readers[1]!.unlock();
    expect(writing.settled()).toBe(false);
    await readers[2]!.runlock();
    await writing.promise;
    expect(w.mode).toBe('write');
    await w.unlock();
    expect(await listKeys(admin, `${name}/`)).toEqual([]);
  });

  it('a waiting writer is not overtaken by readers that arrive after it', async () => {
    const name = uniqueName('rw-fair');
    const admin = t.client();
    const order: string[] = [];
    const r1 = await new RWMutex(await t.session(), name).rlock();
    const w = new RWMutex(await t.session(), name);
    const writing = w.lock().then(() => order.push('writer'));
    await untilExists(admin, `${name}/write/${w.session.lease.toString(16)}`);
    const r2 = new RWMutex(await t.session(), name);
    expect(await r2.tryRLock()).toBe(false);
    const reading = r2.rlock().then(() => order.push('late reader'));
    await untilExists(admin, `${name}/read/${r2.session.lease.toString(16)}`);
    await r1.unlock();
    await writing;
    expect(order).toEqual(['writer']);
    await w.unlock();
    await reading;
    expect(order).toEqual(['writer', 'late reader']);
    await r2.unlock();
  });

  it('keeps readers and writers apart under 8-way contention', async () => {
    const name = uniqueName('rw-contention');
    let readers = 0;
    let writers = 0;
    let maxReaders = 0;
    let writes = 0;
    const violations: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const rw = new RWMutex(await t.session(), name);
        for (let round = 0; round < 8; round++) {
          const write = (i + round) % 3 === 0;
          if (write) {
            await rw.lock();
            writers++;
            if (writers > 1 || readers > 0)
              violations.push(`writer with ${writers - 1} writers, ${readers} readers`);
            await sleep(2);
            writes++;
            writers--;
          } else {
            await rw.rlock();
            readers++;
            maxReaders = Math.max(maxReaders, readers);
            if (writers > 0) violations.push(`reader with ${writers} writers`);
            await sleep(2);
            readers--;
          }
          await rw.unlock();
        }
      }),
    );
    expect(violations).toEqual([]);
    expect(writes).toBeGreaterThan(0);
    expect(await listKeys(t.client(), `${name}/`)).toEqual([]);
  });

  it('one object holds one mode at a time', async () => {
    const name = uniqueName('rw-one');
    const rw = await new RWMutex(await t.session(), name).rlock();
    await expect(rw.lock()).rejects.toBeInstanceOf(LockHeldError);
    expect(rw.mode).toBe('read');
    await rw.unlock();
    await rw.lock();
    expect(rw.mode).toBe('write');
    await rw.unlock();
    expect(rw.mode).toBeUndefined();
  });
});

describe('Semaphore', () => {
  it('admits at most `limit` holders, then the waiters in arrival order', async () => {
    const name = uniqueName('sem-fifo');
    const admin = t.client();
    const holders = await Promise.all([1, 2, 3].map(async () => new Semaphore(await t.session(), name, 3)));
    await Promise.all(holders.map((h) => h.acquire()));
    const extra = new Semaphore(await t.session(), name, 3);
    expect(await extra.tryAcquire()).toBe(false);
    await expect(extra.acquire({ timeoutMs: 200 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect((await listKeys(admin, `${name}/`)).length).toBe(3);

    const order: number[] = [];
    const waiters: Semaphore[] = [];
    const waits: Promise<unknown>[] = [];
    for (let i = 0; i < 3; i++) {
      const w = new Semaphore(await t.session(), name, 3);
      waiters.push(w);
      waits.push(w.acquire().then(() => order.push(i)));
      await untilExists(admin, w.key);
    }
    // Releasing the newest holder still admits the oldest waiter first.
    await holders[2]!.release();
    await waits[0];
    expect(order).toEqual([0]);
    await holders[0]!.release();
    await waits[1];
    expect(order).toEqual([0, 1]);
    await waiters[0]!.release();
    await waits[2];
    expect(order).toEqual([0, 1, 2]);
    for (const s of [holders[1]!, waiters[1]!, waiters[2]!]) await s.release();
    expect(await listKeys(admin, `${name}/`)).toEqual([]);
  });

  it('never has more than `limit` holders under 8-way contention', async () => {
    const name = uniqueName('sem-contention');
    let active = 0;
    let max = 0;
    let done = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const sem = new Semaphore(await t.session(), name, 3);
        for (let round = 0; round < 8; round++) {
          await sem.acquire();
          active++;
          max = Math.max(max, active);
          await sleep(3);
          active--;
          done++;
          await sem.release();
        }
      }),
    );
    expect(done).toBe(64);
    expect(max).toBeLessThanOrEqual(3);
    expect(await listKeys(t.client(), `${name}/`)).toEqual([]);
  });

  it('fencing tokens and ownership compares work as for Mutex', async () => {
    const name = uniqueName('sem-fence');
    const s = await t.session();
    const sem = await new Semaphore(s, name, 2).acquire();
    const kv = await s.client.get(sem.key);
    expect(kv!.createRevision).toBe(sem.fencingToken);
    expect(kv!.value.toString()).toBe('2');
    expect((await s.client.txn().if(sem.isOwner()).commit()).succeeded).toBe(true);
    await sem.release();
    expect(() => sem.isOwner()).toThrow(LockNotHeldError);
  });

  it('refuses a different limit for the same name, and bad limits', async () => {
    const name = uniqueName('sem-limit');
    const a = await new Semaphore(await t.session(), name, 2).acquire();
    const b = new Semaphore(await t.session(), name, 5);
    await expect(b.acquire()).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await listKeys(t.client(), `${name}/`)).toEqual([a.key]);
    await a.release();
    const s = await t.session();
    expect(() => new Semaphore(s, name, 0)).toThrow(InvalidArgumentError);
    expect(() => new Semaphore(s, name, 1.5)).toThrow(InvalidArgumentError);
  });
});
