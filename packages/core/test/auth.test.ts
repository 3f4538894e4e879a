import { setTimeout as sleep } from 'node:timers/promises';
import { startTcpProxy } from '@etcdkit/testkit';
import { uniquePrefix, until, useEtcd } from '@etcdkit/testkit/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuthFailedError, Etcd, PermissionDeniedError } from '../src/index.js';

// Simple tokens that expire after 2 idle seconds: clients must renew them, streams included.
const t = useEtcd({ args: ['--auth-token', 'simple', '--auth-token-ttl', '2'], useEnv: false });
let root: Etcd;
beforeAll(async () => {
  const admin = new Etcd({ endpoints: t.endpoints });
  await admin.auth.roleAdd('root');
  await admin.auth.userAdd('root', 'rootpw');
  await admin.auth.userGrantRole('root', 'root');
  await admin.auth.roleAdd('reader');
  await admin.auth.roleGrantPermission('reader', 'read', { prefix: 'pub/' });
  await admin.auth.roleGrantPermission('reader', 'readwrite', { prefix: 'alice/' });
  await admin.auth.userAdd('alice', 'alicepw');
  await admin.auth.userGrantRole('alice', 'reader');
  await admin.auth.enable();
  await admin.close();
  root = t.client({ auth: { username: 'root', password: 'rootpw' } });
});

describe('auth', () => {
  it('administers users and roles', async () => {
    expect((await root.auth.userList()).sort()).toEqual(['alice', 'root']);
    expect(await root.auth.userGet('alice')).toEqual(['reader']);
    const perms = await root.auth.roleGet('reader');
    expect(perms.map((x) => `${x.type}:${x.key}`).sort()).toEqual(['read:pub/', 'readwrite:alice/']);
  });

  it('refuses a wrong password and a client without credentials with AuthFailedError', async () => {
    await using wrong = new Etcd({
      endpoints: t.endpoints,
      auth: { username: 'alice', password: 'nope' },
    });
    await expect(wrong.get('pub/x')).rejects.toBeInstanceOf(AuthFailedError);
    await using anonymous = new Etcd({ endpoints: t.endpoints });
    const err = await anonymous.put('pub/x', 'y').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthFailedError);
    expect((err as Error).message).toMatch(/pass auth/);
  });

  it('names the key in PermissionDeniedError, for calls and for watches', async () => {
    await root.put('pub/x', 'readable');
    await using alice = new Etcd({
      endpoints: t.endpoints,
      auth: { username: 'alice', password: 'alicepw' },
    });
    expect((await alice.get('pub/x'))?.value.toString()).toBe('readable');
    const err = await alice.put('pub/x', 'nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect((err as Error).message).toContain('pub/x');
    const w = alice.watch({ prefix: 'secret/' });
    const werr = await (async () => {
      for await (const _ of w) return undefined;
    })().catch((e: unknown) => e);
    expect(werr).toBeInstanceOf(PermissionDeniedError);
    expect((werr as Error).message).toContain('secret/');
    // Other watches on the same stream carry on.
    const ok = alice.watch({ prefix: 'alice/' });
    await ok.ready;
    await alice.put('alice/own', 'mine');
    for await (const ev of ok) {
      expect(ev.kv.value.toString()).toBe('mine');
      break;
    }
  });

  it('renews a stale token for a write even with retries: 0 (a renewal is not a retry)', async () => {
    await using alice = new Etcd({
      endpoints: t.endpoints,
      auth: { username: 'alice', password: 'alicepw' },
      retries: 0,
    });
    const key = `alice/${uniquePrefix('stale')}k`;
    await alice.put(key, '1');
    // Idle past the 2 s token TTL (etcd sweeps expired simple tokens every second).
    await sleep(3500);
    await alice.put(key, '2');
    expect((await root.get(key))?.value.toString()).toBe('2');
  });

  it('keeps a watch and a session alive for 10 s with a 2 s token TTL, renewing the token', async () => {
    await using alice = new Etcd({
      endpoints: t.endpoints,
      auth: { username: 'alice', password: 'alicepw' },
    });
    const p = `alice/${uniquePrefix('renew')}`;
    const session = await alice.session({ ttl: 3 });
    const early = alice.watch({ prefix: p });
    let renewals = 0;
    early.on('disconnected', (e) => {
      if (e.code === 'INVALID_TOKEN') renewals++;
    });
    await early.ready;
    const seenEarly: string[] = [];
    const seenLate: string[] = [];
    const reading = (async () => {
      for await (const ev of early) {
        seenEarly.push(ev.kv.value.toString());
        if (seenEarly.length === 10) return;
      }
    })();
    let late: ReturnType<Etcd['watch']> | undefined;
    let lateReading: Promise<void> | undefined;
    for (let i = 0; i < 10; i++) {
      await sleep(1000);
      if (i === 4) {
        // Idle for > 2 s: the token is stale. A new watch on the stream must renew it.
        late = alice.watch({ prefix: p });
        await late.ready;
        lateReading = (async () => {
          for await (const ev of late!) {
            seenLate.push(ev.kv.value.toString());
            if (seenLate.length === 6) return;
          }
        })();
      }
      // Writes by another client; alice's own unary calls also renew transparently every third second.
      if (i % 3 === 2) await alice.put(`${p}k`, String(i));
      else await root.put(`alice/${p.slice('alice/'.length)}k`, String(i));
    }
    await reading;
    await lateReading;
    expect(seenEarly).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
    expect(seenLate).toEqual(['4', '5', '6', '7', '8', '9']);
    // The stale token was noticed on the shared stream and the stream re-created with a new one.
    expect(renewals).toBeGreaterThanOrEqual(1);
    expect(session.expired).toBe(false);
    await session.close();
  });

  it('ends a watch with AuthFailedError for a wrong password or an unknown user', async () => {
    for (const auth of [
      { username: 'alice', password: 'nope' },
      { username: 'nobody', password: 'x' },
    ]) {
      await using wrong = new Etcd({ endpoints: t.endpoints, auth });
      const w = wrong.watch({ prefix: 'pub/' });
      const disconnects: unknown[] = [];
      w.on('disconnected', (e) => disconnects.push(e));
      await expect(w.ready).rejects.toBeInstanceOf(AuthFailedError);
      const err = await (async () => {
        for await (const _ of w) return undefined;
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthFailedError);
      expect(w.ended).toBe(true);
      expect(disconnects).toEqual([]);
    }
  });

  it('ends a watch with AuthFailedError when it must reconnect and its password no longer works', async () => {
    await root.auth.userAdd('bob', 'bobpw');
    await root.auth.userGrantRole('bob', 'reader');
    await using proxy = await startTcpProxy(t.endpoints[0]!);
    await using bob = new Etcd({ endpoints: [proxy.endpoint], auth: { username: 'bob', password: 'bobpw' } });
    const p = `pub/${uniquePrefix('bob')}`;
    const w = bob.watch({ prefix: p });
    await w.ready;
    const seen: string[] = [];
    const ended = (async () => {
      for await (const ev of w) seen.push(ev.kv.value.toString());
    })().catch((e: unknown) => e);
    await root.put(`${p}k`, 'before');
    await until(() => seen.length === 1, { timeoutMs: 10_000, what: 'the first event' });
    // etcd checks credentials when a watch is created, not while it runs: the running watch goes
    // on until its stream must be opened again, which the new password makes impossible.
    await root.auth.userChangePassword('bob', 'changed');
    proxy.cut();
    expect(await ended).toBeInstanceOf(AuthFailedError);
    expect(seen).toEqual(['before']);
    await root.auth.userDelete('bob');
  });
});
