import { connect, createServer, type Socket } from 'node:net';
import { TestkitError } from './errors.js';
import { HOST } from './etcd-process.js';

/** A loopback TCP proxy that a test can break on purpose. */
export interface TcpProxy extends AsyncDisposable {
  /** '127.0.0.1:PORT' to give to the client instead of the real target. */
  readonly endpoint: string;
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  /** Where new connections go ('host:port'). */
  readonly target: string;
  /** Number of open client connections. */
  readonly connections: number;
  /** Destroy every open connection (both sides), like a crashed peer; new connections still work. */
  cut(): void;
  /**
   * on: keep connections and accept new ones, but drop every byte both ways, like a network
   * partition. off: forward again; connections that lost bytes are cut, as their streams are
   * corrupt (real TCP would have retransmitted), so clients reconnect cleanly.
   */
  blackhole(on: boolean): void;
  /** on: refuse new connections (accept and close at once), like a stopped server. */
  refuse(on: boolean): void;
  /** Send new connections to another 'host:port'; existing ones are untouched (cut() them if needed). */
  setTarget(target: string): void;
  /** Stop listening and destroy all connections; idempotent. */
  close(): Promise<void>;
}

function splitHostPort(target: string): { host: string; port: number } {
  const match = /^\[?([^\]]*)\]?:(\d+)$/.exec(target.replace(/^[a-z]+:\/\//, ''));
  if (!match) throw new TestkitError(`expected host:port, got ${JSON.stringify(target)}`);
  return { host: match[1]!, port: Number(match[2]) };
}

interface Pair {
  client: Socket;
  upstream: Socket;
  lostBytes: boolean;
}

/** Starts a proxy on a free 127.0.0.1 port forwarding to `target` ('host:port'). */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  let current = splitHostPort(target);
  let dropping = false;
  let refusing = false;
  const pairs = new Set<Pair>();

  const destroy = (pair: Pair): void => {
    pair.client.destroy();
    pair.upstream.destroy();
    pairs.delete(pair);
  };

  const server = createServer({ noDelay: true }, (client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: current.host, port: current.port, noDelay: true });
    const pair: Pair = { client, upstream, lostBytes: false };
    pairs.add(pair);
    // Bytes are forwarded by hand rather than piped, so they can be dropped while blackholed.
    const forward = (to: Socket) => (chunk: Buffer) => {
      if (dropping) {
        pair.lostBytes = true;
        return;
      }
      // Backpressure: pause the reader until the writer drains.
      const from = to === upstream ? client : upstream;
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    };
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
    // A FIN is passed on (after pending bytes); a failure on one side resets the other.
    const link = (from: Socket, to: Socket): void => {
      from.on('end', () => {
        if (!dropping) to.end();
      });
      from.on('error', () => to.destroy());
      from.on('close', () => {
        // Flush what is pending towards `to`, then close it too.
        to.end(() => to.destroy());
        if (client.destroyed && upstream.destroyed) pairs.delete(pair);
      });
    };
    link(client, upstream);
    link(upstream, client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: HOST, port: 0 }, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new TestkitError('proxy has no TCP address');
  const port = address.port;
  let closing: Promise<void> | undefined;

  const proxy: TcpProxy = {
    endpoint: `${HOST}:${port}`,
    port,
    get target() {
      return `${current.host}:${current.port}`;
    },
    get connections() {
      return pairs.size;
    },
    cut() {
      for (const pair of [...pairs]) destroy(pair);
    },
    blackhole(on) {
      dropping = on;
      if (!on) for (const pair of [...pairs]) if (pair.lostBytes) destroy(pair);
    },
    refuse(on) {
      refusing = on;
    },
    setTarget(next) {
      current = splitHostPort(next);
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        proxy.cut();
      });
      return closing;
    },
    [Symbol.asyncDispose]() {
      return proxy.close();
    },
  };
  return proxy;
}
