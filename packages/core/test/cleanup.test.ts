import { describe, expect, it } from 'vitest';
import { Etcd } from '../src/index.js';
import { sleep, uniq, useEtcd } from './helpers.js';

const t = useEtcd();

function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

describe('cleanup', () => {
  it('leaves no timer, socket or stream behind once closed', async () => {
    // Warm the module-level state (proto loading) before taking the baseline.
    const warm = new Etcd({ endpoints: t.server.endpoints });
    await warm.get('warm');
    await warm.close();
    await sleep(200);
    const before = resources();

    const etcd = new Etcd({ endpoints: t.server.endpoints, autoSyncIntervalMs: 60_000 });
    const p = uniq('cleanup');
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
    await sleep(300);
    expect(resources()).toEqual(before);
    // The session was revoked by close(): its key is gone; the bare lease merely stopped.
    const other = t.client();
    expect(await other.get(`${p}k`)).toBeUndefined();
    expect(lease.lost).toBe(true);
  });
});
