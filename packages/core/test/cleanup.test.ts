import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { uniquePrefix, until, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { Etcd } from '../src/index.js';

const t = useEtcd();

function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

/** The resources once they stop changing (two samples 100 ms apart agree). */
async function settledResources(): Promise<Record<string, number>> {
  let last = resources();
  return until(
    async () => {
      await sleep(100);
      const now = resources();
      const same = isDeepStrictEqual(now, last);
      last = now;
      return same && now;
    },
    { what: 'the active resources to settle' },
  );
}

describe('cleanup', () => {
  it('leaves no timer, socket or stream behind once closed', async () => {
    // Warm the module-level state (proto loading) before taking the baseline.
    const warm = new Etcd({ endpoints: t.server.endpoints });
    await warm.get('warm');
    await warm.close();
    const before = await settledResources();

    const etcd = new Etcd({ endpoints: t.server.endpoints, autoSyncIntervalMs: 60_000 });
    const p = uniquePrefix('cleanup');
    const session = await etcd.session({ ttl: 5 });
    await etcd.put(`${p}k`, 'v', { lease: session.lease });
    const w = etcd.watch({ prefix: p });
    await w.ready;
    const lease = await etcd.lease.grant(30, { keepAlive: true });
    const during = resources();
    expect(Object.values(during).reduce((a, b) => a + b, 0)).toBeGreaterThan(
      Object.values(before).reduce((a, b) => a + b, 0),
    );
    await etcd.close();
    // Sockets and timers are released asynchronously after close(): wait for that, with a deadline.
    await until(() => isDeepStrictEqual(resources(), before), { what: 'the resources of before' }).catch(
      () => {},
    );
    expect(resources()).toEqual(before);
    // The session was revoked by close(): its key is gone; the bare lease merely stopped.
    const other = t.client();
    expect(await other.get(`${p}k`)).toBeUndefined();
    expect(lease.lost).toBe(true);
  });
});

describe('close', () => {
  it('refuses new sessions and calls from the moment it begins, so nothing made while it revokes outlives it', async () => {
    const etcd = new Etcd({ endpoints: t.endpoints });
    const p = uniquePrefix('closing');
    const s = await etcd.session({ ttl: 30 });
    await etcd.put(`${p}a`, 'x', { lease: s.lease });
    // What a registration does when its session ends: start another one at once.
    let late: Promise<unknown> | undefined;
    s.signal.addEventListener('abort', () => {
      late = etcd.session({ ttl: 30 }).then(
        (again) => etcd.put(`${p}b`, 'y', { lease: again.lease }),
        (err: unknown) => err,
      );
    });
    const closing = etcd.close();
    expect(etcd.closed).toBe(true);
    await expect(etcd.session({ ttl: 30 })).rejects.toMatchObject({ code: 'CLOSED' });
    await closing;
    expect(await late).toMatchObject({ code: 'CLOSED' });
    expect((await t.etcd.range({ prefix: p, countOnly: true })).count).toBe(0);
  });
});
