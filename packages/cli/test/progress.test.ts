import { op } from '@etcdkit/core';
import { Election } from '@etcdkit/election';
import { Mutex } from '@etcdkit/lock';
import { killChildren, uniqueName, uniquePrefix, until, useEtcd } from '@etcdkit/testkit/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, flags, runCli, spawnCli, spawnCliOnTty } from './run-cli.js';

// Long operations show how they are getting on, on stderr, when it is a terminal (a
// pseudo-terminal made by `script` here), and print nothing extra into a pipe.
const t = useEtcd({ useEnv: false });
beforeAll(ensureBuilt, 180_000);
afterAll(() => killChildren());

/** A progress redraw: back to the start of the line and erase it. */
const REDRAW = '\r\x1b[2K';

async function fill(prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 100)
    await t.etcd
      .txn()
      .then(
        ...Array.from({ length: Math.min(100, n - i) }, (_, j) =>
          op.put(`${prefix}d${(i + j) % 7}/k${i + j}`, 'v'),
        ),
      )
      .commit();
}

describe('progress on a terminal', () => {
  it('ls: a running count of the keys counted, then the listing; nothing extra into a pipe', async () => {
    const prefix = uniquePrefix('/progress-ls');
    await fill(prefix, 700);
    const tty = spawnCliOnTty([...flags(t), 'ls', prefix, '--page-size', '10']);
    const r = await tty.exited;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${REDRAW}listing ${prefix}: `);
    expect(r.stdout).toMatch(/: \d+ of 700 keys counted…/);
    // The progress line is erased before the listing is printed.
    const listing = r.stdout.slice(r.stdout.lastIndexOf(REDRAW) + REDRAW.length);
    expect(listing.trim().split(/\r?\n/)).toHaveLength(7);
    expect(listing).toMatch(new RegExp(`^${prefix}d0/ +100\\r?\\n`));

    const piped = await runCli([...flags(t), 'ls', prefix, '--page-size', '10']);
    expect(piped).toMatchObject({ code: 0, stderr: '' });
    expect(piped.stdout).not.toContain('\r');
    expect(piped.stdout.trim().split('\n')).toHaveLength(7);
  });

  it('mirror: a running count of the keys listed, then the configuration; nothing extra into a pipe', async () => {
    const prefix = uniquePrefix('/progress-mirror');
    await fill(prefix, 300);
    const tty = spawnCliOnTty([...flags(t), 'mirror', prefix, '--json', '--page-size', '50']);
    await tty.waitForLine((l) => l.includes('"config"'), { what: 'the configuration' });
    const out = tty.stdout();
    expect(out).toContain(`${REDRAW}listing ${prefix}: 50 of 300 keys…`);
    const config = out.slice(out.lastIndexOf(REDRAW) + REDRAW.length).split(/\r?\n/)[0]!;
    expect(Object.keys((JSON.parse(config) as { config: object }).config)).toHaveLength(7);
    tty.child.stdin!.write('\x03'); // Ctrl-C on the terminal
    expect((await tty.exited).code).toBe(0);

    const piped = spawnCli([...flags(t), 'mirror', prefix, '--json', '--page-size', '50']);
    await piped.waitForLine((l) => l.includes('"config"'), { what: 'the configuration' });
    const r = await piped.kill('SIGTERM');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('lock: "waiting for lock held by <key> (lease <hex>)…" while it waits; nothing extra into a pipe', async () => {
    const name = uniqueName('progress-lock');
    const session = await t.etcd.session({ ttl: 30 });
    try {
      const held = new Mutex(session, name);
      await held.lock();
      const tty = spawnCliOnTty([...flags(t), 'lock', name, '--', 'echo', 'ran']);
      const waiting = `waiting for lock held by ${held.key} (lease ${session.lease.toString(16)})…`;
      await until(() => tty.stdout().includes(waiting), { what: 'the waiting line on the terminal' });
      await held.unlock();
      const r = await tty.exited;
      expect(r.code).toBe(0);
      // The waiting line is erased before the command's own output.
      expect(r.stdout).toMatch(new RegExp(`${REDRAW.replace(/[[\]\\]/g, '\\$&')}\\r?\\n?ran\\r?\\n`));

      await held.lock();
      const piped = spawnCli([...flags(t), 'lock', name, '--', 'echo', 'ran']);
      await until(async () => (await Mutex.waiters(t.etcd, name)).length === 1, { what: 'the CLI to wait' });
      await held.unlock();
      const p = await piped.exited;
      expect(p).toMatchObject({ code: 0, stdout: 'ran\n', stderr: '' });
    } finally {
      await session.close();
    }
  });

  it('elect: "waiting to lead: the leader is <value> (key <key>, lease <hex>)…" while it campaigns; nothing extra into a pipe', async () => {
    const name = uniqueName('progress-elect');
    const session = await t.etcd.session({ ttl: 30 });
    try {
      const leader = new Election(session, name);
      await leader.campaign('first');
      const tty = spawnCliOnTty([...flags(t), 'elect', name, 'second']);
      const waiting = `waiting to lead: the leader is first (key ${leader.key}, lease ${session.lease.toString(16)})…`;
      await until(() => tty.stdout().includes(waiting), { what: 'the waiting line on the terminal' });
      await leader.resign();
      await until(() => tty.stdout().includes('elected: second'), { what: 'the CLI to be elected' });
      const out = tty.stdout();
      // The waiting line is erased before "elected".
      expect(out.slice(out.lastIndexOf(REDRAW) + REDRAW.length)).toMatch(/^\r?\n?elected: second/);
      tty.child.stdin!.write('\x03'); // Ctrl-C on the terminal: etcdkit resigns
      const done = await tty.exited;
      expect(done.code).toBe(0);
      expect(done.stdout).toContain('resigned');

      await leader.campaign('first');
      const piped = spawnCli([...flags(t), 'elect', name, 'second']);
      await until(async () => (await t.etcd.range({ prefix: `${name}/`, countOnly: true })).count === 2, {
        what: 'the CLI to campaign',
      });
      await leader.resign();
      await piped.waitForLine(/^elected: second/, { what: 'the CLI to be elected' });
      const r = await piped.kill('SIGTERM');
      expect(r).toMatchObject({ code: 0, stderr: '' });
    } finally {
      await session.close();
    }
  });
});
