import { createServer, type Server } from 'node:net';
import { TestkitError } from './errors.js';

// Ports handed out recently by this process: the kernel may return a just-closed port again,
// and two servers started back to back must not both get it.
const recent = new Set<number>();
const RECENT_LIMIT = 512;

function listen(host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Returns `count` distinct ports that were free on `host` a moment ago. All are held open
 * together before release, so they differ from each other; a race with other processes
 * remains, which is why etcd startup retries on "address already in use".
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      const server = await listen(host);
      held.push(server);
      const address = server.address();
      if (address === null || typeof address === 'string') throw new TestkitError('no TCP address');
      if (recent.has(address.port)) continue;
      ports.push(address.port);
    }
  } finally {
    await Promise.all(held.map(close));
  }
  for (const port of ports) {
    recent.add(port);
    if (recent.size > RECENT_LIMIT) recent.delete(recent.values().next().value as number);
  }
  return ports;
}

/** One free TCP port on `host` (default 127.0.0.1); see {@link freePorts}. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  return port!;
}
