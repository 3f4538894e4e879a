import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdServer, etcdctl, startCluster, startEtcd } from '../src/index.js';

const quick = ['--dial-timeout=1s', '--command-timeout=2s'];

describe('TLS with client certificate auth', () => {
  let server: EtcdServer;

  beforeAll(async () => {
    server = await startEtcd({ useEnv: false, tls: { clientCertAuth: true } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('serves https with certificates for 127.0.0.1 and localhost', async () => {
    const tls = server.tls!;
    expect(server.clientUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(server.endpoints).toEqual([server.clientUrl]);
    expect(tls.serverName).toBe('localhost');
    expect(tls.ca.equals(await readFile(tls.caFile))).toBe(true);
    const client = new X509Certificate(tls.cert);
    expect(client.checkIssued(new X509Certificate(tls.ca))).toBe(true);
    expect(client.checkIssued(new X509Certificate(tls.otherCa))).toBe(false);
  });

  it('accepts etcdctl with the CA and the client certificate', async () => {
    const health = await etcdctl(['endpoint', 'health', ...quick], server);
    expect(health.code).toBe(0);
    expect(health.stdout + health.stderr).toMatch(/is healthy/);
    expect((await etcdctl(['put', 'secure', '1', ...quick], server)).stdout).toBe('OK\n');
  });

  it('fails without the CA, with the wrong CA, and without a trusted client certificate', async () => {
    const tls = server.tls!;
    const failFast = ['get', 'secure', '--dial-timeout=500ms', '--command-timeout=1s'];
    const attempts = {
      noCa: { endpoints: server.endpoints },
      wrongCa: { endpoints: server.endpoints, tls: { ...tls, caFile: tls.otherCaFile } },
      noClientCert: { endpoints: server.endpoints, tls: { caFile: tls.caFile } },
      untrustedClientCert: {
        endpoints: server.endpoints,
        tls: { caFile: tls.caFile, certFile: tls.otherCertFile, keyFile: tls.otherKeyFile },
      },
    };
    // Each failure waits for its deadline: run them side by side.
    const results = await Promise.all(
      Object.entries(attempts).map(
        async ([name, opts]) => [name, (await etcdctl(failFast, opts)).code] as const,
      ),
    );
    for (const [name, code] of results) expect({ name, failed: code !== 0 }).toEqual({ name, failed: true });
  });
});

describe('TLS without client certificate auth (clientCertAuth: false)', () => {
  it('serves https to a client that presents no certificate, and still to one that does', async () => {
    await using server = await startEtcd({ useEnv: false, tls: { clientCertAuth: false } });
    const tls = server.tls!;
    const quickGet = ['get', 'open', '--dial-timeout=2s', '--command-timeout=3s'];
    // Only the CA to verify the server: this failed while etcd got --trusted-ca-file.
    const put = await etcdctl(['put', 'open', 'door', '--dial-timeout=2s', '--command-timeout=3s'], {
      endpoints: server.endpoints,
      tls: { caFile: tls.caFile },
    });
    expect({ code: put.code, stderr: put.stderr }).toEqual({ code: 0, stderr: '' });
    const withCert = await etcdctl(quickGet, server);
    expect(withCert.code).toBe(0);
    expect(withCert.stdout).toBe('open\ndoor\n');
    // The server certificate is still verified.
    const wrongCa = await etcdctl(quickGet, {
      endpoints: server.endpoints,
      tls: { caFile: tls.otherCaFile },
    });
    expect(wrongCa.code).not.toBe(0);
  });
});

describe('TLS cluster', () => {
  it('starts healthy members over https', async () => {
    await using cluster = await startCluster({ members: 3, tls: true });
    expect(cluster.endpoints.every((e) => e.startsWith('https://127.0.0.1:'))).toBe(true);
    const health = await etcdctl(['endpoint', 'health', ...quick], cluster);
    expect(health.code).toBe(0);
    expect(await cluster.leader()).toBeDefined();
  });
});
