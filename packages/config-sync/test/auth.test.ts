import { AuthFailedError, Etcd } from '@etcdkit/core';
import { type EtcdServer, startEtcd } from '@etcdkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mirror } from '../src/index.js';

let server: EtcdServer;
beforeAll(async () => {
  server = await startEtcd({ useEnv: false });
  const admin = new Etcd({ endpoints: server.endpoints });
  await admin.auth.roleAdd('root');
  await admin.auth.userAdd('root', 'rootpw');
  await admin.auth.userGrantRole('root', 'root');
  await admin.auth.enable();
  await admin.close();
});
afterAll(async () => {
  await server?.close();
});

describe('a mirror with credentials etcd refuses', () => {
  it('rejects at start with AuthFailedError, for a wrong password and for an unknown user', async () => {
    for (const auth of [
      { username: 'root', password: 'wrong' },
      { username: 'nobody', password: 'x' },
    ]) {
      await using etcd = new Etcd({ endpoints: server.endpoints, auth });
      await expect(mirror(etcd, 'app/')).rejects.toBeInstanceOf(AuthFailedError);
    }
  });

  it('starts with the right ones', async () => {
    await using etcd = new Etcd({
      endpoints: server.endpoints,
      auth: { username: 'root', password: 'rootpw' },
    });
    await etcd.put('app/k', 'v');
    const cfg = await mirror(etcd, 'app/');
    expect(cfg.get('k')).toBe('v');
    await cfg.close();
  });
});
