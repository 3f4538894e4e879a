import { spawnEtcdctl } from '@etcdkit/testkit';
import { uniqueName, untilKeys, useEtcd } from '@etcdkit/testkit/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, expectOneLineError, flags, runCli, spawnCli } from './run-cli.js';

const t = useEtcd({ useEnv: false });
beforeAll(ensureBuilt, 180_000);

interface ObservedLine {
  name: string;
  leader: { key: string; value: string; createRevision: string; lease: string } | null;
}

const values = (lines: string[]): (string | null)[] =>
  lines.map((l) => (JSON.parse(l) as ObservedLine).leader?.value ?? null);

describe('etcdkit elect', () => {
  it('waits behind an etcdctl leader, takes over when it resigns, and resigns on SIGINT; --observe sees it all', async () => {
    const name = uniqueName('ctl-first');
    const ctl = spawnEtcdctl(['elect', name, 'from-etcdctl'], { endpoints: t.server.endpoints });
    try {
      await ctl.waitForOutput(/^from-etcdctl$/, 20_000);
      const observer = spawnCli([...flags(t), 'elect', '--observe', name, '--json']);
      await observer.waitForLine(/from-etcdctl/);
      const candidate = spawnCli([...flags(t), 'elect', name, 'from-etcdkit']);
      await untilKeys(t.etcd, `${name}/`, 2);
      expect(candidate.stdout()).toBe('');

      await ctl.stop('SIGTERM'); // etcdctl resigns on SIGTERM
      const elected = await candidate.waitForLine(/^elected: /);
      expect(elected).toMatch(new RegExp(`^elected: from-etcdkit \\(key ${name}/[0-9a-f]+\\)$`));
      await observer.waitForLine(/from-etcdkit/);

      const r = await candidate.kill('SIGINT');
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^resigned /m);
      await observer.waitForLine(/"leader":null/);
      expect((await t.etcd.range({ prefix: `${name}/` })).count).toBe(0);

      const o = await observer.kill('SIGTERM');
      expect(o.code).toBe(0);
      // The current leader first, then every change, in order.
      expect(values(o.stdout.trim().split('\n'))).toEqual(['from-etcdctl', 'from-etcdkit', null]);
    } finally {
      await ctl.stop('SIGKILL');
    }
  });

  it('is seen by `etcdctl elect -l`, and etcdctl takes over when etcdkit resigns on SIGTERM', async () => {
    const name = uniqueName('kit-first');
    const candidate = spawnCli([...flags(t), 'elect', name, 'kit-value', '--json']);
    const elected = JSON.parse(await candidate.waitForLine(/"elected"/)) as { key: string; value: string };
    expect(elected.value).toBe('kit-value');
    const watcher = spawnEtcdctl(['elect', '-l', name], { endpoints: t.server.endpoints });
    const rival = spawnEtcdctl(['elect', name, 'ctl-value'], { endpoints: t.server.endpoints });
    try {
      await watcher.waitForOutput(/^kit-value$/, 20_000);
      expect(watcher.output()).toContain(elected.key);
      await untilKeys(t.etcd, `${name}/`, 2);
      expect(rival.output()).toBe('');
      const r = await candidate.kill('SIGTERM');
      expect(r.code).toBe(0);
      await rival.waitForOutput(/^ctl-value$/, 20_000);
      await watcher.waitForOutput(/^ctl-value$/, 20_000);
    } finally {
      await rival.stop('SIGTERM');
      await watcher.stop('SIGTERM');
    }
  });

  it('exits 1 with one line when its leader key is deleted', async () => {
    const name = uniqueName('deleted');
    const candidate = spawnCli([...flags(t), 'elect', name, 'v']);
    await candidate.waitForLine(/^elected: /);
    await t.etcd.delete({ prefix: `${name}/` });
    const r = await candidate.exited;
    expect(r.code).toBe(1);
    expect(expectOneLineError(r.stderr)).toMatch(/leadership of .* was lost/);
  });

  it('refuses a campaign without a value (exit 2)', async () => {
    const r = await runCli([...flags(t), 'elect', uniqueName('no-value')]);
    expect(r.code).toBe(2);
    expect(expectOneLineError(r.stderr)).toMatch(/needs a value/);
  });
});
