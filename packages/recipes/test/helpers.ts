import { Etcd, type EtcdOptions, type Session } from '@etcdkit/core';
import { type EtcdServer, startEtcd } from '@etcdkit/testkit';
import { afterAll, beforeAll } from 'vitest';

/** One real etcd for the test file; clients made by `client()` are closed afterwards. */
export function useEtcd() {
  const ctx = {
    server: undefined as unknown as EtcdServer,
    clients: [] as Etcd[],
    client(extra: EtcdOptions = {}): Etcd {
      const c = new Etcd({ endpoints: ctx.server.endpoints, ...extra });
      ctx.clients.push(c);
      return c;
    },
    /** A new client and a session on it. */
    async session(ttl = 10): Promise<Session> {
      return ctx.client().session({ ttl });
    },
  };
  beforeAll(async () => {
    ctx.server = await startEtcd();
  });
  afterAll(async () => {
    await Promise.allSettled(ctx.clients.map((c) => c.close()));
    await ctx.server?.close();
  });
  return ctx;
}

let n = 0;
/** A key unique to one test. */
export function uniq(name: string): string {
  n++;
  return `${name}-${process.pid}-${n}`;
}

/** Resolves once `count` keys exist under `prefix` (follows a watch, no polling). */
export async function untilKeys(etcd: Etcd, prefix: string, count: number): Promise<void> {
  const w = etcd.watch({ prefix });
  try {
    await w.ready;
    if ((await etcd.range({ prefix, countOnly: true })).count >= count) return;
    for await (const _ of w) if ((await etcd.range({ prefix, countOnly: true })).count >= count) return;
  } finally {
    w.close();
  }
}

/** Settled-state of a promise without awaiting it. */
export function track<T>(p: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  return { settled: () => done, promise: p };
}

/** Resolves once at most `count` keys exist under `prefix`. */
export async function untilAtMost(etcd: Etcd, prefix: string, count: number): Promise<void> {
  const w = etcd.watch({ prefix });
  try {
    await w.ready;
    if ((await etcd.range({ prefix, countOnly: true })).count <= count) return;
    for await (const _ of w) if ((await etcd.range({ prefix, countOnly: true })).count <= count) return;
  } finally {
    w.close();
  }
}
