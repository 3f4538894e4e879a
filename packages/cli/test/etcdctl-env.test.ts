import { Etcd } from '@etcdkit/core';
import { useEtcd } from '@etcdkit/testkit/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, expectOneLineError, runCli } from './run-cli.js';

// An operator's etcdctl setup (ETCDCTL_* variables) carries over to etcdkit, under the flags.
const t = useEtcd({ tls: { clientCertAuth: true }, useEnv: false });
beforeAll(ensureBuilt, 180_000);

describe("etcdctl's TLS variables", () => {
  function etcdctlEnv(): Record<string, string> {
    const tls = t.server.tls!;
    return {
      ETCDCTL_ENDPOINTS: t.endpoints.join(','),
      ETCDCTL_CACERT: tls.caFile,
      ETCDCTL_CERT: tls.certFile,
      ETCDCTL_KEY: tls.keyFile,
    };
  }

  it('ETCDCTL_ENDPOINTS, ETCDCTL_CACERT, ETCDCTL_CERT and ETCDCTL_KEY connect over TLS with a client certificate', async () => {
    expect(t.endpoints[0]).toMatch(/^https:\/\//);
    const tls = t.server.tls!;
    await using etcd = new Etcd({
      endpoints: t.endpoints,
      tls: { ca: tls.ca, cert: tls.cert, key: tls.key },
    });
    await etcd.put('/etcdctl-env/a', '1');
    const r = await runCli(['ls', '/etcdctl-env', '--json'], { env: etcdctlEnv() });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ children: [{ name: '/etcdctl-env/a', count: 1 }] });
  });

  it('a flag beats its variable: --cacert of another CA fails verification', async () => {
    const r = await runCli(['ls', '--cacert', t.server.tls!.otherCaFile, '--dial-timeout', '1s'], {
      env: etcdctlEnv(),
    });
    expect(r.code).toBe(1);
    expect(expectOneLineError(r.stderr)).toMatch(/cannot reach etcd at https:\/\/127\.0\.0\.1:\d+ /);
  });

  it('bad variables are usage errors that name the variable', async () => {
    const noKey = await runCli(['ls'], { env: { ...etcdctlEnv(), ETCDCTL_KEY: undefined } as never });
    expect(noKey.code).toBe(2);
    expect(expectOneLineError(noKey.stderr)).toMatch(/ETCDCTL_CERT needs --key \(or ETCDCTL_KEY\)/);
    const missing = await runCli(['ls'], { env: { ...etcdctlEnv(), ETCDCTL_CACERT: '/nonexistent/ca.pem' } });
    expect(missing.code).toBe(2);
    expect(expectOneLineError(missing.stderr)).toMatch(
      /cannot read the ETCDCTL_CACERT file "\/nonexistent\/ca.pem" \(ENOENT\)/,
    );
    const dial = await runCli(['ls'], { env: { ...etcdctlEnv(), ETCDCTL_DIAL_TIMEOUT: 'soon' } });
    expect(dial.code).toBe(2);
    expect(expectOneLineError(dial.stderr)).toMatch(/ETCDCTL_DIAL_TIMEOUT takes a duration/);
    const user = await runCli(['ls'], { env: { ...etcdctlEnv(), ETCDCTL_USER: 'alice' } });
    expect(user.code).toBe(2);
    expect(expectOneLineError(user.stderr)).toMatch(/no password for user "alice" \(from ETCDCTL_USER\)/);
  });

  it('ETCDCTL_INSECURE_SKIP_TLS_VERIFY is refused with TLS (etcdkit always verifies), ignored without', async () => {
    const r = await runCli(['ls'], { env: { ...etcdctlEnv(), ETCDCTL_INSECURE_SKIP_TLS_VERIFY: 'true' } });
    expect(r.code).toBe(2);
    expect(expectOneLineError(r.stderr)).toMatch(/ETCDCTL_INSECURE_SKIP_TLS_VERIFY is set.*--cacert/);
    const plain = await runCli(['ls', '-e', '127.0.0.1:1', '--dial-timeout', '300ms'], {
      env: { ETCDCTL_INSECURE_SKIP_TLS_VERIFY: 'true' },
    });
    expect(plain.code).toBe(1);
    expect(expectOneLineError(plain.stderr)).toMatch(/cannot reach etcd/);
  });
});
