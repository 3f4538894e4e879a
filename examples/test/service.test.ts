import { fileURLToPath } from 'node:url';
import { listKeys, spawnProcess, uniquePrefix, until, useCluster } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../dist/service/main.js', import.meta.url));

const fx = useCluster();

/** Sum of the samples of a Prometheus metric family whose labels contain every `match` pair. */
function sample(text: string, name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? ([^ ]+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = m[3] ?? '';
    if (Object.entries(match).every(([k, v]) => labels.includes(`${k}="${v}"`))) total += Number(m[4]);
  }
  return total;
}

describe('the example service', () => {
  it('serves locked work, exports the figures on /metrics, survives the loss of the etcd leader, stops cleanly on SIGTERM', async () => {
    const prefix = uniquePrefix('svc');
    // The client starts on the raft leader: killing it below forces a failover.
    const leader = await fx.cluster.waitForLeader();
    const endpoints = [leader.endpoint, ...fx.endpoints.filter((e) => e !== leader.endpoint)];
    await fx.etcd.put(`${prefix}config/greeting`, '"hi"');
    const svc = spawnProcess(process.execPath, [main], {
      name: 'the example service',
      env: { ETCD_ENDPOINTS: endpoints.join(','), PORT: '0', SERVICE_PREFIX: prefix },
    });
    const port = Number((await svc.waitForLine(/^listening on \d+$/)).split(' ').pop());
    const base = `http://127.0.0.1:${port}`;
    const get = async (path: string) => {
      const r = await fetch(`${base}${path}`);
      return { status: r.status, text: await r.text() };
    };
    const work = async (n: number, greeting: string) => {
      for (let i = 0; i < n; i++) {
        const r = await get('/work');
        expect(r.status).toBe(200);
        expect(JSON.parse(r.text)).toMatchObject({ greeting });
      }
    };

    await work(5, 'hi');
    await until(async () => (await get('/healthz')).status === 200, { what: 'healthy' });
    await until(async () => Number((await fx.etcd.get(`${prefix}ticks`))?.value.toString() ?? 0) > 2, {
      what: 'the leader job to tick',
    });
    const before = (await get('/metrics')).text;
    const lockWaits = sample(before, 'etcdkit_lock_wait_duration_count', {
      etcdkit_lock_outcome: 'acquired',
    });
    expect(lockWaits).toBeGreaterThanOrEqual(5);
    expect(
      sample(before, 'etcdkit_election_campaign_duration_count', { etcdkit_election_outcome: 'elected' }),
    ).toBe(1);
    expect(sample(before, 'etcdkit_election_leader')).toBe(1);
    expect(sample(before, 'rpc_client_duration_count', { rpc_method: 'Txn' })).toBeGreaterThan(0);
    expect(sample(before, 'etcdkit_connection_failovers_total')).toBe(0);

    // Live config: a new greeting is served without a restart.
    await fx.etcd.put(`${prefix}config/greeting`, '"hello again"');
    await until(async () => JSON.parse((await get('/work')).text).greeting === 'hello again', {
      what: 'the new greeting',
    });

    await leader.kill();
    await fx.cluster.waitForLeader();
    await until(
      async () => {
        const r = await get('/work');
        return r.status === 200;
      },
      { what: 'work to be served again', timeoutMs: 30_000 },
    );
    await work(3, 'hello again');
    const after = (await get('/metrics')).text;
    expect(after).toMatch(/^# TYPE etcdkit_connection_failovers_total counter$/m);
    expect(sample(after, 'etcdkit_connection_failovers_total')).toBeGreaterThanOrEqual(1);
    expect(
      sample(after, 'etcdkit_lock_wait_duration_count', { etcdkit_lock_outcome: 'acquired' }),
    ).toBeGreaterThan(lockWaits + 3);
    expect(sample(after, 'etcdkit_lock_held')).toBe(0);

    const stopped = await svc.kill('SIGTERM');
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toMatch(/stopped/);
    // Graceful: the leader key and every lock key are gone with the stop, not after a TTL.
    expect(await listKeys(fx.etcd, `${prefix}leader/`)).toEqual([]);
    expect(await listKeys(fx.etcd, `${prefix}locks/`)).toEqual([]);
    await leader.restart();
  }, 120_000);
});
