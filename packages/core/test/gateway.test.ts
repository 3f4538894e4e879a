import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { spawnProcess, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import {
  DialTimeoutError,
  Etcd,
  type EtcdOptions,
  InvalidArgumentError,
  UnavailableError,
} from '../src/index.js';

// What is particular to the gateway transport. The KV, txn, lease, watch, auth and failover
// tests themselves run over it as well (the `gateway` vitest project).

const t = useEtcd();
const root = fileURLToPath(new URL('../../../', import.meta.url));

function refused(options: EtcdOptions): InvalidArgumentError {
  try {
    void new Etcd(options).close();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return err as InvalidArgumentError;
  }
  throw new InvalidArgumentError(`new Etcd(${JSON.stringify(options)}) was accepted`);
}

describe('the transport option', () => {
  it('is checked at creation, from the option or ETCDKIT_TRANSPORT', () => {
    expect(refused({ transport: 'http' as 'gateway' }).message).toMatch(
      /^transport must be 'grpc' .* or 'gateway' .*, got "http"/,
    );
    const saved = process.env.ETCDKIT_TRANSPORT;
    process.env.ETCDKIT_TRANSPORT = 'rest';
    try {
      expect(refused({ endpoints: t.endpoints }).message).toMatch(/^ETCDKIT_TRANSPORT must be 'grpc'/);
    } finally {
      process.env.ETCDKIT_TRANSPORT = saved;
    }
  });

  it("refuses TLS material Node's fetch cannot take, and serverName, saying what to do", () => {
    expect(
      refused({ endpoints: ['https://127.0.0.1:2379'], transport: 'gateway', tls: { ca: 'x' } }).message,
    ).toMatch(
      /tls.ca, tls.cert and tls.key need a fetch that takes TLS material .* NODE_EXTRA_CA_CERTS.* gRPC transport/,
    );
    expect(
      refused({ endpoints: ['https://127.0.0.1:2379'], transport: 'gateway', tls: { serverName: 'etcd' } })
        .message,
    ).toMatch(/tls.serverName is not supported by the gateway transport/);
  });
});

describe('the gateway transport', () => {
  it('says why no endpoint answered, endpoint by endpoint', async () => {
    // A port nobody listens on: take one from the system and close it again.
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    await using etcd = new Etcd({
      endpoints: [`127.0.0.1:${port}`],
      transport: 'gateway',
      dialTimeoutMs: 800,
    });
    const err = (await etcd.get('k').catch((e: unknown) => e)) as DialTimeoutError;
    expect(err).toBeInstanceOf(DialTimeoutError);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.attempts).toEqual([{ endpoint: `127.0.0.1:${port}`, reason: 'ECONNREFUSED' }]);
    expect(err.message).toMatch(/could not reach etcd's HTTP gateway within \d+ ms/);
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('does not take an HTTP server that is not etcd (a proxy error page) for etcd', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('<h1>503 Service Unavailable</h1>');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      await using etcd = new Etcd({
        endpoints: [`127.0.0.1:${port}`, t.endpoints[0]!],
        transport: 'gateway',
        dialTimeoutMs: 3000,
      });
      // The first endpoint answers, but not as etcd: the client moves on to the real one.
      await etcd.put('gateway-proxy-page', 'v');
      expect((await etcd.get('gateway-proxy-page'))?.value.toString()).toBe('v');
      expect(etcd.endpoint).toBe(t.endpoints[0]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('the browser/edge entry defaults to the gateway and refuses gRPC, which it does not carry', async () => {
    const entry = `${root}packages/core/dist/gateway.js`;
    if (!existsSync(entry))
      throw new Error(`${entry} is missing: build first (pnpm exec tsc -b; pnpm test does)`);
    const script = `
      const { Etcd } = await import(${JSON.stringify(entry)});
      const etcd = new Etcd({ endpoints: [${JSON.stringify(t.endpoints[0])}] });
      await etcd.put('gateway-entry', 'yes');
      console.log('read ' + (await etcd.get('gateway-entry')).value.toString());
      await etcd.close();
      try { new Etcd({ endpoints: ['127.0.0.1:2379'], transport: 'grpc' }); }
      catch (e) { console.log(e.name + ': ' + e.message); }
    `;
    const r = await spawnProcess(process.execPath, ['--input-type=module', '-e', script], {
      env: { ETCDKIT_TRANSPORT: undefined },
    }).exited;
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('read yes');
    expect(r.stdout).toMatch(
      /InvalidArgumentError: transport 'grpc' is not part of this build of @etcdkit\/core \(the browser\/edge entry\); use transport: 'gateway'/,
    );
    expect(r.code).toBe(0);
  });
});
