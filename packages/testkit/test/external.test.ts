import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdServer, etcdctl, startEtcd, UncontrollableServerError } from '../src/index.js';

describe('ETCD_ENDPOINTS', () => {
  let real: EtcdServer;
  const saved = process.env.ETCD_ENDPOINTS;

  beforeAll(async () => {
    real = await startEtcd({ useEnv: false });
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.ETCD_ENDPOINTS;
    else process.env.ETCD_ENDPOINTS = saved;
  });
  afterAll(async () => {
    await real?.close();
  });

  it('returns an external server that cannot be controlled', async () => {
    process.env.ETCD_ENDPOINTS = ` ${real.endpoints[0]} ,127.0.0.1:1 `;
    const server = await startEtcd();
    expect(server.external).toBe(true);
    expect(server.endpoints).toEqual([real.endpoints[0], '127.0.0.1:1']);
    expect(server.clientUrl).toBe(real.clientUrl);
    expect(server.pid).toBeUndefined();

    expect((await etcdctl(['put', 'via-env', '1'], { endpoints: [real.endpoints[0]!] })).code).toBe(0);
    await expect(server.stop()).rejects.toThrow(UncontrollableServerError);
    await expect(server.kill()).rejects.toThrow(/ETCD_ENDPOINTS/);
    await expect(server.restart()).rejects.toThrow(/cannot be|does not own/);
    expect(() => server.pause()).toThrow(UncontrollableServerError);
    expect(() => server.resume()).toThrow(UncontrollableServerError);
    await server.close();
    await server[Symbol.asyncDispose]();
    // The real server is untouched.
    expect((await etcdctl(['get', 'via-env', '--print-value-only'], real)).stdout).toBe('1\n');
  });

  it('is ignored with useEnv: false', async () => {
    process.env.ETCD_ENDPOINTS = '127.0.0.1:1';
    await using own = await startEtcd({ useEnv: false });
    expect(own.external).toBe(false);
    expect(own.endpoints).not.toContain('127.0.0.1:1');
  });
});
