import { type EtcdServer, startEtcd } from '@etcdkit/testkit';
import { afterAll, beforeAll } from 'vitest';
import { Etcd, type EtcdOptions } from '../src/index.js';

/** One real etcd for the test file, and a factory of clients that are all closed afterwards. */
export function useEtcd(options: Parameters<typeof startEtcd>[0] = {}) {
  const ctx = {
    server: undefined as unknown as EtcdServer,
    clients: [] as Etcd[],
    client(extra: EtcdOptions = {}): Etcd {
      const c = new Etcd({ endpoints: ctx.server.endpoints, ...extra });
      ctx.clients.push(c);
      return c;
    },
  };
  beforeAll(async () => {
    ctx.server = await startEtcd(options);
  });
  afterAll(async () => {
    await Promise.allSettled(ctx.clients.map((c) => c.close()));
    await ctx.server?.close();
  });
  return ctx;
}

/** A key prefix unique to one test, so tests in a file do not see each other's keys. */
let n = 0;
export function uniq(name: string): string {
  n++;
  return `${name}-${process.pid}-${n}/`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolve once `cond()` holds, checking on each macrotask turn up to `timeoutMs`. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
