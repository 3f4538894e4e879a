import { spawnEtcdctl } from '@etcdkit/testkit';
import {
  listKeys,
  spawnTs,
  track,
  uniqueName,
  untilExists,
  untilKeys,
  useEtcd,
} from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { LockTimeoutError, Mutex } from '../src/index.js';

const t = useEtcd();

describe('etcdctl lock interop', () => {
  it('etcdctl holds the lock: Mutex cannot take it, and gets it once etcdctl releases', async () => {
    const name = uniqueName('ctl-holds');
    const admin = t.client();
    const ctl = spawnEtcdctl(['lock', name], { endpoints: t.server.endpoints });
    try {
      // etcdctl prints its key once it holds the lock.
      const ctlKey = (await ctl.waitForOutput(new RegExp(`^${name}/`), 15_000)).trim();
      expect(await listKeys(admin, `${name}/`)).toEqual([ctlKey]);
      const m = new Mutex(await t.session(), name);
      expect(await m.tryLock()).toBe(false);
      await expect(m.lock({ timeoutMs: 300 })).rejects.toBeInstanceOf(LockTimeoutError);
      const waiting = track(m.lock());
      await untilExists(admin, m.key);
      expect(waiting.settled()).toBe(false);
      const ctlRev = (await admin.get(ctlKey))!.createRevision;
      await ctl.stop('SIGTERM'); // etcdctl unlocks on SIGTERM
      await waiting.promise;
      expect(m.fencingToken > ctlRev).toBe(true);
      expect(await listKeys(admin, `${name}/`)).toEqual([m.key]);
      await m.unlock();
    } finally {
      await ctl.stop('SIGKILL');
    }
  });

  it('Mutex holds the lock: etcdctl waits behind it, and gets it on unlock', async () => {
    const name = uniqueName('we-hold');
    const admin = t.client();
    const m = await new Mutex(await t.session(), name).lock();
    const ctl = spawnEtcdctl(['lock', name], { endpoints: t.server.endpoints });
    try {
      // etcdctl has queued its key behind ours...
      await untilKeys(admin, `${name}/`, 2);
      const [first, ctlKey] = await listKeys(admin, `${name}/`);
      expect(first).toBe(m.key);
      // ...and, while we hold the lock, has not taken it.
      expect(ctl.output()).toBe('');
      await m.unlock();
      expect((await ctl.waitForOutput(new RegExp(`^${name}/`), 15_000)).trim()).toBe(ctlKey);
    } finally {
      await ctl.stop('SIGTERM');
    }
    expect(await listKeys(admin, `${name}/`)).toEqual([]);
  });

  it('etcdctl lock <name> -- <command> runs the command only after Mutex unlocks', async () => {
    const name = uniqueName('ctl-exec');
    const admin = t.client();
    const m = await new Mutex(await t.session(), name).lock();
    const ctl = spawnEtcdctl(['lock', name, '--', 'sh', '-c', 'echo "ran with $ETCD_LOCK_KEY"'], {
      endpoints: t.server.endpoints,
    });
    try {
      await untilKeys(admin, `${name}/`, 2);
      const ctlKey = (await listKeys(admin, `${name}/`))[1];
      expect(ctl.output()).toBe('');
      await m.unlock();
      expect(await ctl.exited).toBe(0);
      expect(ctl.output().trim()).toBe(`ran with ${ctlKey}`);
      // etcdctl unlocked after its command: the lock is free for us again.
      expect(await m.tryLock()).toBe(true);
      await m.unlock();
    } finally {
      await ctl.stop('SIGKILL');
    }
  });
});

describe('a holder process that dies', () => {
  it('SIGKILL of the holder hands the lock to the next waiter once its lease expires', async () => {
    const name = uniqueName('killed');
    const ttl = 2;
    const admin = t.client();
    const child = spawnTs(new URL('./fixtures/holder.ts', import.meta.url), [
      t.endpoints.join(','),
      name,
      String(ttl),
    ]);
    try {
      const line = await child.waitForLine(/^locked (\S+) (\d+)$/, { what: 'the holder to take the lock' });
      const [, childKey, childToken] = line.split(' ');
      expect(await listKeys(admin, `${name}/`)).toEqual([childKey]);

      const m = new Mutex(await t.session(10), name);
      const waiting = track(m.lock());
      await untilExists(admin, m.key);
      await child.kill('SIGKILL');
      await waiting.promise;
      expect(m.fencingToken > BigInt(childToken!)).toBe(true);
      expect(await listKeys(admin, `${name}/`)).toEqual([m.key]);
      await m.unlock();
    } finally {
      await child.kill('SIGKILL');
    }
  });
});
