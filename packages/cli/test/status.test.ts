import { Etcd, ResourceExhaustedError } from '@etcdkit/core';
import { startEtcd } from '@etcdkit/testkit';
import { useCluster } from '@etcdkit/testkit/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, expectOneLineError, runCli } from './run-cli.js';

const t = useCluster({ members: 3 });
beforeAll(ensureBuilt, 180_000);

interface StatusJson {
  healthy: boolean;
  endpoints: {
    endpoint: string;
    healthy: boolean;
    error?: string;
    status?: { isLeader: boolean; version: string };
  }[];
  alarms: { memberId: string; alarm: string }[];
  problems: string[];
}

/** The table's data rows, split into cells. */
function rows(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .slice(1)
    .map((l) =>
      l
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
}

describe('etcdkit status', () => {
  it('shows every member of a healthy cluster and exits 0', async () => {
    const endpoints = t.cluster.endpoints.join(',');
    const r = await runCli(['--endpoints', endpoints, 'status']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const table = rows(r.stdout);
    expect(table.map((row) => row[0])).toEqual(t.cluster.endpoints);
    // One leader, every member on a 3.x version and healthy.
    expect(table.filter((row) => row[4] === 'true')).toHaveLength(1);
    for (const row of table) {
      expect(row[2]).toMatch(/^3\.\d+\.\d+/);
      expect(row[9]).toMatch(/^ok /);
    }
    const j = JSON.parse((await runCli(['--endpoints', endpoints, 'status', '--json'])).stdout) as StatusJson;
    expect(j.healthy).toBe(true);
    expect(j.endpoints.map((e) => e.healthy)).toEqual([true, true, true]);
    expect(j.endpoints.filter((e) => e.status?.isLeader)).toHaveLength(1);
  });

  it('--cluster finds every member from one endpoint', async () => {
    const r = await runCli(['--endpoints', t.cluster.endpoints[0]!, 'status', '--cluster', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as StatusJson;
    expect(j.endpoints).toHaveLength(3);
  });

  it('reports a member that is down and exits 1 with one line', async () => {
    const victim = t.cluster.members[2]!;
    await victim.kill();
    await t.cluster.waitForLeader();
    const endpoints = t.cluster.endpoints.join(',');
    const r = await runCli(['--endpoints', endpoints, 'status']);
    expect(r.code).toBe(1);
    expect(expectOneLineError(r.stderr)).toMatch(new RegExp(`unhealthy: .*${victim.endpoint} is down`));
    const table = rows(r.stdout);
    const down = table.find((row) => row[0] === victim.endpoint)!;
    expect(down[9]).toBe('down');
    expect(down[10]).not.toBe('');
    expect(table.filter((row) => row[9]!.startsWith('ok '))).toHaveLength(2);

    const j = JSON.parse((await runCli(['--endpoints', endpoints, 'status', '--json'])).stdout) as StatusJson;
    expect(j.healthy).toBe(false);
    expect(j.endpoints.find((e) => e.endpoint === victim.endpoint)).toMatchObject({ healthy: false });
  });

  it('reports a raised alarm (NOSPACE) and exits 1', async () => {
    // A member with a 1 MiB quota fills up at once.
    const server = await startEtcd({ useEnv: false, args: ['--quota-backend-bytes', String(1 << 20)] });
    const etcd = new Etcd({ endpoints: server.endpoints });
    try {
      let raised = false;
      for (let i = 0; i < 50 && !raised; i++) {
        try {
          await etcd.put(`big-${i}`, Buffer.alloc(500_000, 1));
        } catch (err) {
          if (!(err instanceof ResourceExhaustedError)) throw err;
          raised = true;
        }
      }
      expect(raised).toBe(true);
      const r = await runCli(['--endpoints', server.endpoints.join(','), 'status']);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^alarm: NOSPACE raised by member [0-9a-f]+$/m);
      expect(expectOneLineError(r.stderr)).toMatch(/alarm NOSPACE/);
    } finally {
      await etcd.close();
      await server.close();
    }
  });

  it('says how to get an etcd when none answers', async () => {
    const r = await runCli(['--endpoints', '127.0.0.1:1', '--dial-timeout', '500ms', 'status']);
    expect(r.code).toBe(1);
    expect(expectOneLineError(r.stderr)).toMatch(/cannot reach etcd at 127\.0\.0\.1:1 .*etcdkit dev/);
  });
});
