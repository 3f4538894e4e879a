import { InvalidArgumentError } from '@etcdkit/core';
import { etcdctl, spawnEtcdctl } from '@etcdkit/testkit';
import { uniqueName, untilExists, untilKeys, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { type LockEntry, Mutex, RWMutex, Semaphore } from '../src/index.js';

const t = useEtcd();

/** The queue as etcdctl reads it: keys under `<name>/` in create order, with lease and create revision. */
async function etcdctlQueue(name: string): Promise<LockEntry[]> {
  const r = await etcdctl(
    ['get', '--prefix', `${name}/`, '--sort-by=CREATE', '--order=ASCEND', '-w', 'json'],
    t.server,
  );
  expect(r.code, r.stderr).toBe(0);
  // int64 fields as strings before parsing: lease IDs do not fit a double.
  const json = JSON.parse(r.stdout.replace(/"(\w+)":(\d+)/g, '"$1":"$2"')) as {
    kvs?: { key: string; lease?: string; create_revision: string }[];
  };
  return (json.kvs ?? []).map((kv) => ({
    key: Buffer.from(kv.key, 'base64').toString(),
    lease: BigInt(kv.lease ?? '0'),
    createRevision: BigInt(kv.create_revision),
  }));
}

describe('lock inspection', () => {
  it('Mutex.holder/waiters: free, then etcdctl holding with two etcdkit waiters; agrees with etcdctl get --prefix', async () => {
    const name = uniqueName('inspect');
    const admin = t.client();
    expect(await Mutex.holder(admin, name)).toBeUndefined();
    expect(await Mutex.waiters(admin, name)).toEqual([]);

    const ctl = spawnEtcdctl(['lock', name], { endpoints: t.server.endpoints });
    const waiters: Mutex[] = [];
    try {
      const ctlKey = (await ctl.waitForOutput(new RegExp(`^${name}/`), 15_000)).trim();
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < 2; i++) {
        const m = new Mutex(await t.session(), name);
        waiters.push(m);
        pending.push(m.lock().then(() => m.unlock()));
        await untilExists(admin, m.key);
      }
      const holder = await Mutex.holder(admin, name);
      const queued = await Mutex.waiters(admin, name);
      expect(holder?.key).toBe(ctlKey);
      expect(queued.map((e) => e.key)).toEqual(waiters.map((m) => m.key));
      expect(queued.map((e) => e.lease)).toEqual(waiters.map((m) => m.session.lease));
      const truth = await etcdctlQueue(name);
      expect([holder, ...queued]).toEqual(truth);
      // the key suffix is the lease in hex, as etcdctl writes it
      expect(ctlKey.endsWith(`/${holder!.lease.toString(16)}`)).toBe(true);

      const one = await Mutex.inspect(admin, name);
      expect([...one.holders, ...one.waiters]).toEqual(truth);
      expect(one.revision > 0n).toBe(true);

      await ctl.stop('SIGTERM');
      await Promise.all(pending);
      expect(await Mutex.holder(admin, name)).toBeUndefined();
    } finally {
      await ctl.stop('SIGKILL');
    }
  });

  it('RWMutex.holders: the readers before the first writer share it; the writer and later readers wait', async () => {
    const name = uniqueName('rw-inspect');
    const admin = t.client();
    const r1 = await new RWMutex(await t.session(), name).rlock();
    const r2 = await new RWMutex(await t.session(), name).rlock();
    const w = new RWMutex(await t.session(), name);
    const writing = w.lock();
    await untilKeys(admin, `${name}/`, 3);
    const r3 = new RWMutex(await t.session(), name);
    const reading = r3.rlock();
    await untilKeys(admin, `${name}/`, 4);
    const q = await RWMutex.inspect(admin, name);
    expect(q.holders.map((e) => [e.key, e.mode])).toEqual([
      [r1.key, 'read'],
      [r2.key, 'read'],
    ]);
    expect(q.waiters.map((e) => e.mode)).toEqual(['write', 'read']);
    expect([...q.holders, ...q.waiters].map(({ mode: _m, ...e }) => e)).toEqual(await etcdctlQueue(name));
    await r1.unlock();
    await r2.unlock();
    await writing;
    expect((await RWMutex.holders(admin, name)).map((e) => e.mode)).toEqual(['write']);
    expect((await RWMutex.waiters(admin, name)).map((e) => e.mode)).toEqual(['read']);
    await w.unlock();
    await reading;
    await r3.unlock();
    expect(await RWMutex.holders(admin, name)).toEqual([]);
  });

  it('Semaphore.holders: the limit oldest keys, limit read from their values', async () => {
    const name = uniqueName('sem-inspect');
    const admin = t.client();
    const a = await new Semaphore(await t.session(), name, 2).acquire();
    const b = await new Semaphore(await t.session(), name, 2).acquire();
    const c = new Semaphore(await t.session(), name, 2);
    const waiting = c.acquire();
    await untilKeys(admin, `${name}/`, 3);
    const q = await Semaphore.inspect(admin, name);
    expect(q.limit).toBe(2);
    expect(q.holders.map((e) => e.key)).toEqual([a.key, b.key]);
    expect(q.waiters.map((e) => e.key)).toEqual([c.key]);
    expect([...q.holders, ...q.waiters]).toEqual(await etcdctlQueue(name));
    expect((await Semaphore.holders(admin, name, { limit: 1 })).map((e) => e.key)).toEqual([a.key]);
    await a.release();
    await waiting;
    expect(await Semaphore.waiters(admin, name)).toEqual([]);
    await b.release();
    await c.release();
  });

  it('checks its input', async () => {
    const admin = t.client();
    await expect(Mutex.holder(admin, '')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(Mutex.waiters({} as never, 'x')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(Semaphore.inspect(admin, 'x', { limit: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
