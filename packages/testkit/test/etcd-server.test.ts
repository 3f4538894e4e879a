import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdServer, etcdctl, spawnEtcdctl, startEtcd, TestkitError } from '../src/index.js';
import { isAlive } from '../src/vitest.js';

describe('startEtcd (local binary)', () => {
  let server: EtcdServer;

  beforeAll(async () => {
    server = await startEtcd({ useEnv: false });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('serves on a free loopback port', async () => {
    expect(server.external).toBe(false);
    expect(server.endpoints).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/)]);
    expect(server.clientUrl).toBe(`http://${server.endpoints[0]}`);
    expect(server.pid).toBeGreaterThan(0);
    expect(server.running).toBe(true);
    expect(existsSync(server.dataDir)).toBe(true);

    const put = await etcdctl(['put', 'greeting', 'hello'], server);
    expect(put).toMatchObject({ code: 0, stdout: 'OK\n' });
    const get = await etcdctl(['get', 'greeting', '--print-value-only'], server);
    expect(get.stdout).toBe('hello\n');
  });

  it('keeps its data across kill() and restart() on the same port', async () => {
    await etcdctl(['put', 'durable', 'yes'], server);
    const { pid, endpoints } = server;
    await server.kill();
    expect(server.running).toBe(false);
    expect(server.pid).toBeUndefined();
    expect(isAlive(pid!)).toBe(false);
    const down = await etcdctl(['get', 'durable', '--dial-timeout=300ms', '--command-timeout=500ms'], server);
    expect(down.code).not.toBe(0);

    await server.restart();
    expect(server.endpoints).toEqual(endpoints);
    expect(server.pid).not.toBe(pid);
    const get = await etcdctl(['get', 'durable', '--print-value-only'], server);
    expect(get.stdout).toBe('yes\n');
  });

  it('stop() is graceful and restart() brings it back', async () => {
    await server.stop();
    await server.stop(); // idempotent
    expect(server.running).toBe(false);
    await server.restart();
    expect((await etcdctl(['get', 'durable', '--print-value-only'], server)).stdout).toBe('yes\n');
  });

  it('pause() hangs requests until resume()', async () => {
    server.pause();
    const hung = await etcdctl(['get', 'durable', '--command-timeout=500ms'], server);
    expect(hung.code).not.toBe(0);
    server.resume();
    expect((await etcdctl(['get', 'durable', '--print-value-only'], server)).stdout).toBe('yes\n');
  });

  it('feeds etcdctl input and follows long-running etcdctl lock', async () => {
    const txn = await etcdctl(['txn'], {
      ...server,
      input: 'value("durable") = "yes"\n\nput txn-ok 1\n\nput txn-ok 0\n\n',
    });
    expect(txn.stdout).toMatch(/^SUCCESS/);

    const first = spawnEtcdctl(['lock', 'my-lock'], server);
    const key = await first.waitForOutput(/^my-lock\//);
    expect(key).toMatch(/^my-lock\/[0-9a-f]+$/);
    const second = spawnEtcdctl(['lock', 'my-lock'], server);
    await expect(second.waitForOutput(/^my-lock\//, 700)).rejects.toThrow(/no output matching/);
    expect(await first.stop()).not.toBeUndefined();
    await second.waitForOutput(/^my-lock\//);
    await second.stop();
    await expect(first.waitForOutput(/never/)).rejects.toThrow(/exited/);
  });

  it('close() stops, removes the data dir, is idempotent and refuses restart()', async () => {
    const own = await startEtcd({ useEnv: false, name: 'disposable' });
    const { pid, dataDir } = own;
    await Promise.all([own.close(), own.close()]);
    await own[Symbol.asyncDispose]();
    expect(isAlive(pid!)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
    await expect(own.restart()).rejects.toBeInstanceOf(TestkitError);
    expect(() => own.pause()).toThrow(/not running/);
  });

  it('supports await using', async () => {
    let pid: number | undefined;
    {
      await using own = await startEtcd({ useEnv: false, args: ['--auth-token', 'simple'] });
      pid = own.pid;
      expect(isAlive(pid!)).toBe(true);
    }
    expect(isAlive(pid!)).toBe(false);
  });
});
