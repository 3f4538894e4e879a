import { Mutex } from '@etcdkit/lock';
import { spawnEtcdctl } from '@etcdkit/testkit';
import { uniqueName, untilKeys, useEtcd } from '@etcdkit/testkit/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, expectOneLineError, flags, runCli, spawnCli } from './run-cli.js';

const t = useEtcd({ useEnv: false });
beforeAll(ensureBuilt, 180_000);

/** `node -e <script>` as the locked command. */
const node = (script: string): string[] => ['--', process.execPath, '-e', script];

/** Prints "ready", then on SIGTERM prints "got SIGTERM" and exits with 3. */
const TERM_AWARE = `
process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(3); });
console.log('ready');
setInterval(() => {}, 1000);`;

describe('etcdkit lock', () => {
  it('runs the command with the lock key and fencing token, exits with its code and releases', async () => {
    const name = uniqueName('exit-code');
    const r = await runCli([
      ...flags(t),
      'lock',
      name,
      ...node(
        'console.log(process.env.ETCDKIT_LOCK_KEY + " " + process.env.ETCDKIT_FENCING_TOKEN); process.exit(7)',
      ),
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(7);
    const [key, token] = r.stdout.trim().split(' ');
    expect(key).toMatch(new RegExp(`^${name}/[0-9a-f]+$`));
    expect(BigInt(token!)).toBeGreaterThan(0n);
    expect((await t.etcd.range({ prefix: `${name}/` })).count).toBe(0);
  });

  it('waits while etcdctl holds the lock and runs once etcdctl releases it', async () => {
    const name = uniqueName('ctl-holds');
    const ctl = spawnEtcdctl(['lock', name], { endpoints: t.server.endpoints });
    try {
      const ctlKey = (await ctl.waitForOutput(new RegExp(`^${name}/`), 20_000)).trim();
      const ctlRev = (await t.etcd.get(ctlKey))!.createRevision;
      const cli = spawnCli([
        ...flags(t),
        'lock',
        name,
        ...node('console.log("ran " + process.env.ETCDKIT_FENCING_TOKEN)'),
      ]);
      // etcdkit has queued behind etcdctl, and has not run its command.
      const queue = await untilKeys(t.etcd, `${name}/`, 2);
      expect(queue[0]).toBe(ctlKey);
      expect(cli.stdout()).toBe('');
      await ctl.stop('SIGTERM'); // etcdctl unlocks on SIGTERM
      const r = await cli.exited;
      expect(r.code).toBe(0);
      const token = BigInt(/^ran (\d+)$/.exec(r.stdout.trim())![1]!);
      expect(token).toBeGreaterThan(ctlRev);
    } finally {
      await ctl.stop('SIGKILL');
    }
    expect((await t.etcd.range({ prefix: `${name}/` })).count).toBe(0);
  });

  it('makes etcdctl lock wait until the command finishes', async () => {
    const name = uniqueName('we-hold');
    // The command holds the lock until it reads a line on stdin (inherited from etcdkit).
    const cli = spawnCli([
      ...flags(t),
      'lock',
      name,
      ...node('console.log("held"); process.stdin.once("data", () => process.exit(0));'),
    ]);
    await cli.waitForLine(/^held$/);
    const ctl = spawnEtcdctl(['lock', name, 'echo', 'etcdctl ran'], { endpoints: t.server.endpoints });
    try {
      await untilKeys(t.etcd, `${name}/`, 2);
      expect(ctl.output()).toBe('');
      cli.child.stdin!.write('done\n');
      expect((await cli.exited).code).toBe(0);
      expect(await ctl.exited).toBe(0);
      expect(ctl.output().trim()).toBe('etcdctl ran');
    } finally {
      await ctl.stop('SIGKILL');
    }
  });

  it('forwards SIGTERM to the command, exits with its code and releases the lock', async () => {
    const name = uniqueName('sigterm');
    const cli = spawnCli([...flags(t), 'lock', name, ...node(TERM_AWARE)]);
    await cli.waitForLine(/^ready$/);
    expect((await t.etcd.range({ prefix: `${name}/` })).count).toBe(1);
    const r = await cli.kill('SIGTERM');
    expect(r.stdout).toContain('got SIGTERM');
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('');
    expect((await t.etcd.range({ prefix: `${name}/` })).count).toBe(0);
  });

  it('exits with 128 + n when the command is ended by signal n', async () => {
    const name = uniqueName('signaled');
    const cli = spawnCli([
      ...flags(t),
      'lock',
      name,
      ...node('console.log("ready"); setInterval(() => {}, 1000);'),
    ]);
    await cli.waitForLine(/^ready$/);
    const r = await cli.kill('SIGINT');
    expect(r.code).toBe(130);
    expect((await t.etcd.range({ prefix: `${name}/` })).count).toBe(0);
  });

  it('stops the command and exits 1 when the lock key is deleted while it runs', async () => {
    const name = uniqueName('key-deleted');
    const cli = spawnCli([...flags(t), 'lock', name, ...node(TERM_AWARE)]);
    await cli.waitForLine(/^ready$/);
    await t.etcd.delete({ prefix: `${name}/` });
    const r = await cli.exited;
    expect(r.stdout).toContain('got SIGTERM');
    expect(r.code).toBe(1);
    expect(expectOneLineError(r.stderr)).toMatch(/lock .* was lost while the command ran .*deleted/);
  });

  it('stops the command when the session is lost (lease revoked), SIGKILL after the grace period', async () => {
    const name = uniqueName('lease-revoked');
    // This command ignores SIGTERM: only SIGKILL ends it.
    const cli = spawnCli([
      ...flags(t),
      'lock',
      name,
      '--grace',
      '300ms',
      ...node(
        'process.on("SIGTERM", () => console.log("ignoring SIGTERM")); console.log("ready"); setInterval(() => {}, 1000);',
      ),
    ]);
    await cli.waitForLine(/^ready$/);
    const [kv] = (await t.etcd.range({ prefix: `${name}/` })).kvs;
    await t.etcd.lease.revoke(kv!.lease);
    const r = await cli.exited;
    expect(r.stdout).toContain('ignoring SIGTERM');
    expect(r.code).toBe(1);
    expect(expectOneLineError(r.stderr)).toMatch(/was lost while the command ran/);
  });

  it('gives up after --timeout with a one-line error, leaving no waiter key', async () => {
    const name = uniqueName('timeout');
    const ctl = spawnEtcdctl(['lock', name], { endpoints: t.server.endpoints });
    try {
      const ctlKey = (await ctl.waitForOutput(new RegExp(`^${name}/`), 20_000)).trim();
      const r = await runCli([...flags(t), 'lock', name, '--timeout', '300ms', '--', 'echo', 'never']);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(expectOneLineError(r.stderr)).toMatch(/held by someone else .*--timeout/);
      expect(
        (await t.etcd.range({ prefix: `${name}/`, keysOnly: true })).kvs.map((kv) => kv.key.toString()),
      ).toEqual([ctlKey]);
    } finally {
      await ctl.stop('SIGTERM');
    }
  });

  it('stops waiting on SIGINT (exit 130) and takes its key out of the queue', async () => {
    const name = uniqueName('interrupted');
    const ctl = spawnEtcdctl(['lock', name], { endpoints: t.server.endpoints });
    try {
      await ctl.waitForOutput(new RegExp(`^${name}/`), 20_000);
      const cli = spawnCli([...flags(t), 'lock', name, '--', 'echo', 'never']);
      await untilKeys(t.etcd, `${name}/`, 2);
      const r = await cli.kill('SIGINT');
      expect(r.code).toBe(130);
      expect(r.stdout).toBe('');
      expect(await untilKeys(t.etcd, `${name}/`, (keys) => keys.length < 2)).toHaveLength(1);
    } finally {
      await ctl.stop('SIGTERM');
    }
  });

  it('holds the lock without a command until SIGTERM, as etcdctl lock does', async () => {
    const name = uniqueName('hold');
    const cli = spawnCli([...flags(t), 'lock', name, '--json']);
    const line = JSON.parse(await cli.waitForLine(/"locked"/)) as { key: string; fencingToken: string };
    expect(line.key).toMatch(new RegExp(`^${name}/`));
    expect((await t.etcd.get(line.key))!.createRevision).toBe(BigInt(line.fencingToken));
    const r = await cli.kill('SIGTERM');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"released"');
    expect((await t.etcd.range({ prefix: `${name}/` })).count).toBe(0);
  });

  it('reports a command that does not exist (exit 127) and releases the lock', async () => {
    const name = uniqueName('enoent');
    const r = await runCli([...flags(t), 'lock', name, '--', 'etcdkit-no-such-command-here']);
    expect(r.code).toBe(127);
    expect(expectOneLineError(r.stderr)).toMatch(/command not found/);
    expect((await t.etcd.range({ prefix: `${name}/` })).count).toBe(0);
  });

  it('--inspect shows the holder and the waiters in queue order, human and --json, without locking', async () => {
    const name = uniqueName('inspect');
    const free = await runCli([...flags(t), 'lock', '--inspect', name]);
    expect(free.code).toBe(0);
    expect(free.stdout).toContain('is free');
    const ctl = spawnEtcdctl(['lock', name], { endpoints: t.server.endpoints });
    const session = await t.etcd.session({ ttl: 10 });
    try {
      const ctlKey = (await ctl.waitForOutput(new RegExp(`^${name}/`), 20_000)).trim();
      const m = new Mutex(session, name);
      const waiting = m.lock();
      await untilKeys(t.etcd, `${name}/`, 2);
      const ctlKv = (await t.etcd.get(ctlKey))!;
      const human = await runCli([...flags(t), 'lock', '--inspect', name]);
      expect(human.code).toBe(0);
      expect(human.stdout).toContain(
        `is held by ${ctlKey} (lease ${ctlKv.lease.toString(16)}, fencing token ${ctlKv.createRevision})`,
      );
      expect(human.stdout).toContain(`1. ${m.key} (lease ${session.lease.toString(16)}`);
      const json = await runCli([...flags(t), '--json', 'lock', '--inspect', name]);
      expect(json.code).toBe(0);
      const out = JSON.parse(json.stdout) as {
        holder: { key: string; lease: string; createRevision: string };
        waiters: { key: string; lease: string }[];
      };
      expect(out.holder).toMatchObject({
        key: ctlKey,
        lease: ctlKv.lease.toString(),
        createRevision: ctlKv.createRevision.toString(),
      });
      expect(out.waiters).toEqual([expect.objectContaining({ key: m.key, lease: session.lease.toString() })]);
      // inspecting took nothing: still the same two keys
      expect((await t.etcd.range({ prefix: `${name}/` })).count).toBe(2);
      await ctl.stop('SIGTERM');
      await waiting;
      await m.unlock();
    } finally {
      await ctl.stop('SIGKILL');
      await session.close();
    }
    const bad = await runCli([...flags(t), 'lock', '--inspect', name, '--', 'true']);
    expect(bad.code).not.toBe(0);
  });
});
