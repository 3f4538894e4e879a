import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnEtcdctl } from '@etcdkit/testkit';
import { describe, expect, it } from 'vitest';
import { LockTimeoutError, Mutex } from '../src/index.js';
import { queue, track, uniq, untilExists, untilKeys, useEtcd } from './helpers.js';

const t = useEtcd();

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

describe('etcdctl lock interop', () => {
  it('etcdctl holds the lock: Mutex cannot take it, and gets it once etcdctl releases', async () => {
    const name = uniq('ctl-holds');
    const admin = t.client();
    const ctl = spawnEtcdctl(['lock', name], { endpoints: t.server.endpoints });
    try {
      // etcdctl prints its key once it holds the lock.
      const ctlKey = (await ctl.waitForOutput(new RegExp(`^${name}/`), 15_000)).trim();
      expect(await queue(admin, name)).toEqual([ctlKey]);
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
      expect(await queue(admin, name)).toEqual([m.key]);
      await m.unlock();
    } finally {
      await ctl.stop('SIGKILL');
    }
  });

  it('Mutex holds the lock: etcdctl waits behind it, and gets it on unlock', async () => {
    const name = uniq('we-hold');
    const admin = t.client();
    const m = await new Mutex(await t.session(), name).lock();
    const ctl = spawnEtcdctl(['lock', name], { endpoints: t.server.endpoints });
    try {
      // etcdctl has queued its key behind ours...
      await untilKeys(admin, `${name}/`, 2);
      const [first, ctlKey] = await queue(admin, name);
      expect(first).toBe(m.key);
      // ...and, while we hold the lock, has not taken it.
      expect(ctl.output()).toBe('');
      await m.unlock();
      expect((await ctl.waitForOutput(new RegExp(`^${name}/`), 15_000)).trim()).toBe(ctlKey);
    } finally {
      await ctl.stop('SIGTERM');
    }
    expect(await queue(admin, name)).toEqual([]);
  });

  it('etcdctl lock <name> -- <command> runs the command only after Mutex unlocks', async () => {
    const name = uniq('ctl-exec');
    const admin = t.client();
    const m = await new Mutex(await t.session(), name).lock();
    const ctl = spawnEtcdctl(['lock', name, '--', 'sh', '-c', 'echo "ran with $ETCD_LOCK_KEY"'], {
      endpoints: t.server.endpoints,
    });
    try {
      await untilKeys(admin, `${name}/`, 2);
      const ctlKey = (await queue(admin, name))[1];
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
    const name = uniq('killed');
    const ttl = 2;
    const admin = t.client();
    const child = spawn(
      process.execPath,
      [
        '--import',
        `${fixtures}register-ts.mjs`,
        `${fixtures}holder.ts`,
        t.server.endpoints.join(','),
        name,
        String(ttl),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      let out = '';
      let err = '';
      child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          const match = /^locked (\S+) (\d+)$/m.exec(out);
          if (match) resolve(match[0]);
        });
        child.once('exit', (code) => reject(new Error(`holder exited (${code}) before locking:\n${err}`)));
      });
      const [, childKey, childToken] = line.split(' ');
      expect(await queue(admin, name)).toEqual([childKey]);

      const m = new Mutex(await t.session(10), name);
      const waiting = track(m.lock());
      await untilExists(admin, m.key);
      const killedAt = Date.now();
      child.kill('SIGKILL');
      await exited;
      await waiting.promise;
      const elapsed = Date.now() - killedAt;
      expect(m.fencingToken > BigInt(childToken!)).toBe(true);
      expect(await queue(admin, name)).toEqual([m.key]);
      // ttl + 1 s is the expected bound; the margin only absorbs a loaded machine.
      expect(elapsed).toBeLessThan((ttl + 1) * 1000 + 4000);
      await m.unlock();
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });
});
