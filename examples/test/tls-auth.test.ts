import { fileURLToPath } from 'node:url';
import { Etcd } from '@etcdkit/core';
import { spawnProcess, useEtcd } from '@etcdkit/testkit/vitest';
import { beforeAll, describe, expect, it } from 'vitest';

// The TLS + auth example against an etcd that serves HTTPS, asks for client certificates and
// has authentication on, with a user limited to /examples/.
const t = useEtcd({ tls: { clientCertAuth: true }, useEnv: false });

describe('the tls-auth example', () => {
  beforeAll(async () => {
    const tls = t.server.tls!;
    await using admin = new Etcd({
      endpoints: t.endpoints,
      tls: { ca: tls.ca, cert: tls.cert, key: tls.key },
    });
    await admin.auth.userAdd('root', 'root-pw');
    await admin.auth.userGrantRole('root', 'root');
    await admin.auth.roleAdd('examples');
    await admin.auth.roleGrantPermission('examples', 'readwrite', { prefix: '/examples/' });
    await admin.auth.userAdd('app', 'app-pw');
    await admin.auth.userGrantRole('app', 'examples');
    await admin.auth.enable();
  });

  it('connects over TLS with a user and password; a wrong password is an AuthFailedError', async () => {
    const tls = t.server.tls!;
    const file = fileURLToPath(new URL('../dist/tls-auth.js', import.meta.url));
    const p = spawnProcess(process.execPath, [file], {
      env: {
        ETCD_ENDPOINTS: t.endpoints.join(','),
        ETCD_CA: tls.caFile,
        ETCD_CERT: tls.certFile,
        ETCD_KEY: tls.keyFile,
        ETCD_USER: 'app',
        ETCD_PASSWORD: 'app-pw',
      },
      name: 'the tls-auth example',
    });
    p.child.stdin!.end();
    const r = await p.exited;
    if (r.code !== 0) console.log(r.stdout + r.stderr);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'read back: hello from app, over TLS',
      'wrong password refused: AUTH_FAILED',
    ]);
    expect(t.endpoints[0]).toMatch(/^https:\/\//);
  });

  it('says which setting is missing', async () => {
    const file = fileURLToPath(new URL('../dist/tls-auth.js', import.meta.url));
    const p = spawnProcess(process.execPath, [file], {
      env: { ETCD_ENDPOINTS: t.endpoints.join(','), ETCD_CA: undefined },
      name: 'the tls-auth example without settings',
    });
    p.child.stdin!.end();
    const r = await p.exited;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('set ETCD_CA');
  });
});
