import { existsSync } from 'node:fs';
import { Etcd } from '@etcdkit/core';
import { isAlive, killChildren } from '@etcdkit/testkit/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli, spawnCli } from './run-cli.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(() => killChildren());

describe('etcdkit dev', () => {
  it('starts an etcd that answers, and stops it (and removes its data) on SIGINT', async () => {
    // ETCD_ENDPOINTS in the environment must not stop dev from starting its own server.
    const dev = spawnCli(['dev'], { env: { ETCD_ENDPOINTS: '127.0.0.1:1' } });
    const exported = await dev.waitForLine(/^export ETCD_ENDPOINTS=/, { timeoutMs: 60_000 });
    const endpoints = exported.slice('export ETCD_ENDPOINTS='.length).split(',');
    expect(endpoints).toHaveLength(1);
    const member = /^member \S+ +(\S+) +pid (\d+) +data (\S+)$/.exec(
      dev.lines().find((l) => l.startsWith('member '))!,
    )!;
    expect(member[1]).toBe(endpoints[0]);
    const pid = Number(member[2]);
    const dataDir = member[3]!;
    expect(isAlive(pid)).toBe(true);

    const etcd = new Etcd({ endpoints });
    try {
      await etcd.put('hello', 'from the test');
      expect((await etcd.get('hello'))?.value.toString()).toBe('from the test');
    } finally {
      await etcd.close();
    }
    // Another etcdkit finds it through the printed endpoints.
    const ls = await runCli(['ls'], { env: { ETCD_ENDPOINTS: endpoints.join(',') } });
    expect(ls.stdout.trim().split(/\s+/)).toEqual(['hello', '1']);

    const r = await dev.kill('SIGINT');
    expect(r.code).toBe(0);
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('--members 3 --json starts a cluster that `etcdkit status` finds healthy, and stops it on SIGTERM', async () => {
    const dev = spawnCli(['dev', '--members', '3', '--json']);
    const info = JSON.parse(await dev.waitForLine(/^\{/, { timeoutMs: 90_000 })) as {
      endpoints: string[];
      members: { name: string; endpoint: string; pid: number }[];
    };
    expect(info.endpoints).toHaveLength(3);
    expect(info.members.map((m) => m.endpoint)).toEqual(info.endpoints);
    const status = await runCli(['--endpoints', info.endpoints.join(','), 'status', '--json']);
    expect(status.code).toBe(0);
    expect((JSON.parse(status.stdout) as { healthy: boolean }).healthy).toBe(true);

    const r = await dev.kill('SIGTERM');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const m of info.members) expect(isAlive(m.pid)).toBe(false);
  });
});
