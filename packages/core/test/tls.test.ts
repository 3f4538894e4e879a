import { uniquePrefix, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { DialTimeoutError, Etcd } from '../src/index.js';

const t = useEtcd({ tls: { clientCertAuth: true }, useEnv: false });

describe('TLS', () => {
  it('connects over https with mutual TLS, including watches and sessions', async () => {
    const tls = t.server.tls!;
    expect(t.endpoints[0]).toMatch(/^https:\/\//);
    await using etcd = new Etcd({
      endpoints: t.endpoints,
      tls: { ca: tls.ca, cert: tls.cert, key: tls.key },
    });
    const key = uniquePrefix('tls');
    const w = etcd.watch({ key });
    await w.ready;
    await etcd.put(key, 'secure');
    expect((await etcd.get(key))?.value.toString()).toBe('secure');
    for await (const ev of w) {
      expect(ev.kv.value.toString()).toBe('secure');
      break;
    }
    const session = await etcd.session({ ttl: 5 });
    expect(session.expired).toBe(false);
    await session.close();
  });

  it('verifies the server name given in serverName', async () => {
    const tls = t.server.tls!;
    await using etcd = new Etcd({
      endpoints: t.endpoints,
      tls: { ca: tls.ca, cert: tls.cert, key: tls.key, serverName: tls.serverName },
    });
    await etcd.put(uniquePrefix('sni'), 'x');
  });

  it('fails with a clear error when the server certificate does not verify against the CA', async () => {
    const tls = t.server.tls!;
    await using etcd = new Etcd({
      endpoints: t.endpoints,
      tls: { ca: tls.otherCa, cert: tls.cert, key: tls.key },
      dialTimeoutMs: 1500,
    });
    const err = await etcd.get('k').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DialTimeoutError);
    expect((err as Error).message).toMatch(/certificate did not verify/);
  });

  it('is refused by a server that requires client certificates when none (or a foreign one) is given', async () => {
    const tls = t.server.tls!;
    await using none = new Etcd({ endpoints: t.endpoints, tls: { ca: tls.ca }, dialTimeoutMs: 1500 });
    await expect(none.get('k')).rejects.toBeInstanceOf(Error);
    await using foreign = new Etcd({
      endpoints: t.endpoints,
      tls: { ca: tls.ca, cert: tls.otherCert, key: tls.otherKey },
      dialTimeoutMs: 1500,
    });
    const err = await foreign.get('k').catch((e: unknown) => e);
    expect((err as { code?: string }).code).toMatch(/DIAL_TIMEOUT|UNAVAILABLE/);
  });
});
