import { op } from '@etcdkit/core';
import { uniqueName, useEtcd } from '@etcdkit/testkit/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, expectOneLineError, flags, runCli, spawnCli } from './run-cli.js';

const t = useEtcd({ useEnv: false });
beforeAll(ensureBuilt, 180_000);

describe('etcdkit mirror', () => {
  it('--json prints the configuration on one line, then one line per change', async () => {
    const p = `/${uniqueName('cfg')}/`;
    await t.etcd.put(`${p}name`, 'billing');
    await t.etcd.put(`${p}db/host`, 'db1');
    const { revision: start } = await t.etcd.put(`${p}db/port`, '5432');
    await t.etcd.put(`/${uniqueName('elsewhere')}/x`, 'not mirrored');

    const cli = spawnCli([...flags(t), 'mirror', p, '--json']);
    const first = JSON.parse(await cli.waitForLine(/"config"/)) as { revision: string; config: unknown };
    expect(first.config).toEqual({ name: 'billing', db: { host: 'db1', port: '5432' } });
    expect(BigInt(first.revision)).toBeGreaterThanOrEqual(start);

    const put = await t.etcd.put(`${p}db/host`, 'db2');
    const del = await t.etcd.delete(`${p}name`);
    const txn = await t.etcd
      .txn()
      .then(op.put(`${p}a`, '1'), op.put(`${p}b`, '2'))
      .commit();
    await cli.waitForLine(/"key":"b"/);
    const r = await cli.kill('SIGTERM');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual([
      { type: 'put', key: 'db/host', value: 'db2', prev: 'db1', revision: put.revision.toString() },
      { type: 'delete', key: 'name', prev: 'billing', revision: del.revision.toString() },
      { type: 'put', key: 'a', value: '1', prev: null, revision: txn.revision.toString() },
      { type: 'put', key: 'b', value: '2', prev: null, revision: txn.revision.toString() },
    ]);
  });

  it('prints readable JSON and change lines without --json; --decode json parses values', async () => {
    const p = `/${uniqueName('cfg')}/`;
    await t.etcd.put(`${p}limits`, '{"rps":100}');
    await t.etcd.put(`${p}enabled`, 'true');
    await t.etcd.put(`${p}broken`, 'not json');
    const cli = spawnCli([...flags(t), 'mirror', p, '--decode', 'json', '--flat']);
    await cli.waitForLine(/^}$/);
    expect(JSON.parse(cli.stdout())).toEqual({ limits: { rps: 100 }, enabled: true });
    const put = await t.etcd.put(`${p}enabled`, 'false');
    await cli.waitForLine(/^put enabled/);
    const r = await cli.kill('SIGINT');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`put enabled = false (revision ${put.revision})`);
    // The value that is not JSON is reported and left out.
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^etcdkit: ignoring broken: /)]);
  });

  it('refuses a missing prefix and a bad --decode (exit 2)', async () => {
    const a = await runCli([...flags(t), 'mirror']);
    expect(a.code).toBe(2);
    expectOneLineError(a.stderr);
    const b = await runCli([...flags(t), 'mirror', '/x/', '--decode', 'xml']);
    expect(b.code).toBe(2);
    expect(expectOneLineError(b.stderr)).toMatch(/--decode takes text or json/);
  });
});
