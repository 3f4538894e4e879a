import { register } from '@etcdkit/discovery';
import { uniqueName as uniq, useEtcd } from '@etcdkit/testkit/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, expectOneLineError, flags, runCli, spawnCli } from './run-cli.js';

const t = useEtcd();
beforeAll(ensureBuilt, 180_000);

describe('etcdkit services', () => {
  it('NAME --json prints the instances; NAME prints a table', async () => {
    const service = uniq('billing');
    const a = await register(t.etcd, {
      service,
      id: 'a',
      address: '10.0.0.1:50051',
      metadata: { zone: 'z1' },
    });
    const b = await register(t.etcd, { service, id: 'b', address: '10.0.0.2:50051' });
    await b.drain();
    try {
      const r = await runCli([...flags(t), 'services', service, '--json']);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      const out = JSON.parse(r.stdout) as { service: string; revision: string; instances: unknown[] };
      expect(out.service).toBe(service);
      expect(BigInt(out.revision)).toBeGreaterThan(0n);
      expect(out.instances).toEqual([
        { id: 'a', address: '10.0.0.1:50051', draining: false, metadata: { zone: 'z1' } },
        { id: 'b', address: '10.0.0.2:50051', draining: true },
      ]);
      const h = await runCli([...flags(t), 'services', service]);
      expect(h.code).toBe(0);
      const lines = h.stdout.trim().split('\n');
      expect(lines[1]).toMatch(/^\| ID +\| ADDRESS +\| STATE +\| METADATA +\|$/);
      expect(lines[3]).toMatch(/^\| a +\| 10\.0\.0\.1:50051 \| up +\| \{"zone":"z1"\} \|$/);
      expect(lines[4]).toMatch(/^\| b +\| 10\.0\.0\.2:50051 \| draining \| +\|$/);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('without NAME lists the services found, with counts (also Go-written ones)', async () => {
    const root = `/${uniq('svcroot')}/`;
    const regs = await Promise.all([
      register(t.etcd, { service: `${root}api`, address: '10.0.0.1:80' }),
      register(t.etcd, { service: `${root}api`, address: '10.0.0.2:80' }),
      register(t.etcd, { service: `${root}db`, address: '10.0.0.3:5432' }),
    ]);
    await regs[1]!.drain();
    await t.etcd.put(`${root}go/e1`, '{"Op":0,"Addr":"10.0.0.4:9000","Metadata":null}');
    await t.etcd.put(`${root}config/x`, '{"not":"an endpoint"}');
    try {
      const r = await runCli([...flags(t), 'services', '--prefix', root, '--json']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).services).toEqual([
        { name: `${root}api`, instances: 2, draining: 1 },
        { name: `${root}db`, instances: 1, draining: 0 },
        { name: `${root}go`, instances: 1, draining: 0 },
      ]);
      const h = await runCli([...flags(t), 'services', '--prefix', root]);
      expect(h.stdout).toMatch(new RegExp(`\\| ${root}api +\\| 1 +\\| 1 +\\|`));
    } finally {
      await Promise.all(regs.map((r) => r.close()));
    }
  });

  it('NAME --watch prints the list, then instances coming, draining and going', async () => {
    const service = uniq('watched');
    const a = await register(t.etcd, { service, id: 'a', address: '10.0.0.1:1' });
    const cli = spawnCli([...flags(t), 'services', service, '--watch', '--json']);
    try {
      const first = JSON.parse(await cli.waitForLine(/"instances"/)) as { instances: unknown[] };
      expect(first.instances).toEqual([{ id: 'a', address: '10.0.0.1:1', draining: false }]);
      const b = await register(t.etcd, { service, id: 'b', address: '10.0.0.2:1' });
      await cli.waitForLine(/"type":"up"/);
      await b.drain();
      await cli.waitForLine(/"type":"draining"/);
      await b.close();
      await cli.waitForLine(/"type":"down"/);
      const r = await cli.kill('SIGTERM');
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      const events = r.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => JSON.parse(l) as { type: string; instance: { id: string; draining: boolean } });
      expect(events.map((e) => [e.type, e.instance.id, e.instance.draining])).toEqual([
        ['up', 'b', false],
        ['draining', 'b', true],
        ['down', 'b', true],
      ]);
    } finally {
      await cli.kill('SIGKILL');
      await a.close();
    }
  });

  it('refuses --watch without NAME and a NAME ending in "/" (exit 2)', async () => {
    const a = await runCli([...flags(t), 'services', '--watch']);
    expect(a.code).toBe(2);
    expect(expectOneLineError(a.stderr)).toMatch(/--watch needs a service NAME/);
    const b = await runCli([...flags(t), 'services', 'x/']);
    expect(b.code).toBe(2);
    expectOneLineError(b.stderr);
  });

  it('fails with one line when etcd cannot be reached', async () => {
    const r = await runCli(['--endpoints', '127.0.0.1:1', '--dial-timeout', '300ms', 'services', 'x']);
    expect(r.code).toBe(1);
    expectOneLineError(r.stderr);
  });
});
