import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdServer, etcdctl, startEtcd, startTcpProxy } from '../src/index.js';

/** An echo server, to observe the proxy byte by byte. */
async function echoServer(): Promise<{ server: Server; endpoint: string }> {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { server, endpoint: `127.0.0.1:${address.port}` };
}

async function dial(endpoint: string): Promise<Socket> {
  const [host, port] = endpoint.split(':');
  const socket = connect({ host: host!, port: Number(port) });
  await once(socket, 'connect');
  return socket;
}

/** Sends `text` and resolves with the echoed text, or 'timeout'. */
function roundTrip(socket: Socket, text: string, timeoutMs = 300): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const onData = (chunk: Buffer): void => {
      got += chunk.toString();
      if (got.length >= text.length) finish(got);
    };
    const finish = (result: string): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(result);
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('data', onData);
    socket.write(text);
  });
}

describe('startTcpProxy', () => {
  let echo: { server: Server; endpoint: string };
  let etcd: EtcdServer;

  beforeAll(async () => {
    [echo, etcd] = await Promise.all([echoServer(), startEtcd({ useEnv: false })]);
  });
  afterAll(async () => {
    echo?.server.close();
    await etcd?.close();
  });

  it('forwards, cuts, blackholes and restores', async () => {
    await using proxy = await startTcpProxy(echo.endpoint);
    expect(proxy.endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(proxy.target).toBe(echo.endpoint);

    const a = await dial(proxy.endpoint);
    expect(await roundTrip(a, 'hello')).toBe('hello');
    expect(proxy.connections).toBe(1);

    const closed = once(a, 'close');
    proxy.cut();
    await closed;
    expect(proxy.connections).toBe(0);

    const b = await dial(proxy.endpoint);
    expect(await roundTrip(b, 'again')).toBe('again');
    proxy.blackhole(true);
    const c = await dial(proxy.endpoint); // still accepted
    expect(await roundTrip(b, 'lost')).toBe('timeout');
    expect(await roundTrip(c, 'lost too')).toBe('timeout');
    expect(b.destroyed).toBe(false);

    // Restoring resets the connections that lost bytes; new ones work.
    const bClosed = once(b, 'close');
    proxy.blackhole(false);
    await bClosed;
    const d = await dial(proxy.endpoint);
    expect(await roundTrip(d, 'back')).toBe('back');

    proxy.refuse(true);
    const refused = await dial(proxy.endpoint);
    await once(refused, 'close');
    proxy.refuse(false);
    d.destroy();
    c.destroy();
  });

  it('breaks and restores etcd traffic, and can be retargeted', async () => {
    const proxy = await startTcpProxy(etcd.endpoints[0]!);
    const via = { endpoints: [proxy.endpoint] };
    expect((await etcdctl(['put', 'proxied', 'yes'], via)).code).toBe(0);

    proxy.blackhole(true);
    const started = Date.now();
    const hung = await etcdctl(['get', 'proxied', '--dial-timeout=500ms', '--command-timeout=700ms'], via);
    expect(hung.code).not.toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    proxy.blackhole(false);
    expect((await etcdctl(['get', 'proxied', '--print-value-only'], via)).stdout).toBe('yes\n');

    proxy.setTarget('127.0.0.1:1'); // nothing listens there
    const down = await etcdctl(['get', 'proxied', '--dial-timeout=300ms', '--command-timeout=500ms'], via);
    expect(down.code).not.toBe(0);
    proxy.setTarget(etcd.endpoints[0]!);
    expect((await etcdctl(['get', 'proxied', '--print-value-only'], via)).stdout).toBe('yes\n');

    await proxy.close();
    await proxy.close();
    const closed = await etcdctl(['get', 'proxied', '--dial-timeout=300ms', '--command-timeout=500ms'], via);
    expect(closed.code).not.toBe(0);
  });
});
