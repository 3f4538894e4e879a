import { request } from 'node:http';
import { createServer } from 'node:net';
import { startTcpProxy } from '@etcdkit/testkit';
import { uniquePrefix, until, useEtcd } from '@etcdkit/testkit/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { Keyspace, type KeyspaceBatch } from '../src/ui/keyspace.js';
import { tookOver } from '../src/ui/took-over.js';
import { ensureBuilt, expectOneLineError, flags, runCli } from './run-cli.js';
import { startUi } from './ui-browser.js';

const t = useEtcd({ useEnv: false });
beforeAll(ensureBuilt, 180_000);

async function contentOf(prefix: string): Promise<Map<string, string>> {
  const r = await t.etcd.range({ prefix });
  return new Map(r.kvs.map((kv) => [kv.key.toString(), kv.value.toString()]));
}

function valuesOf(ks: Keyspace): Map<string, string> {
  return new Map([...ks.keys].map(([k, kv]) => [k, kv.value.toString()]));
}

describe('etcdkit ui: the followed keyspace', () => {
  it('follows puts and deletes, and reads everything again when a compaction made it miss changes', async () => {
    const prefix = uniquePrefix('ui-ks');
    await t.etcd.put(`${prefix}a`, '1');
    await t.etcd.put(`${prefix}b`, '1');
    const proxy = await startTcpProxy(t.endpoints[0]!);
    const etcd = t.client({ endpoints: [proxy.endpoint], dialTimeoutMs: 500 });
    const resets: bigint[] = [];
    const batches: KeyspaceBatch[] = [];
    const states: string[] = [];
    const ks = new Keyspace(etcd, prefix, {
      reset: (rev) => resets.push(rev),
      batch: (b) => batches.push(b),
      status: (s) => states.push(s),
    });
    try {
      await ks.start();
      expect(resets).toHaveLength(1);
      expect(valuesOf(ks)).toEqual(await contentOf(prefix));

      const put = await t.etcd.put(`${prefix}c`, '1');
      await t.etcd.delete(`${prefix}a`);
      await until(() => ks.revision > put.revision, { what: 'the delete followed' });
      expect(valuesOf(ks)).toEqual(await contentOf(prefix));
      expect(batches.map((b) => b.events.map((e) => e.type))).toEqual([['put'], ['delete']]);

      // Cut off: changes happen and the revisions the watch would resume from are compacted.
      proxy.refuse(true);
      proxy.cut();
      await until(() => states.includes('reconnecting'), { what: 'the watch to notice the cut' });
      await t.etcd.put(`${prefix}b`, '2');
      await t.etcd.delete(`${prefix}c`);
      const last = await t.etcd.put(`${prefix}d`, '1');
      await t.etcd.compact(last.revision);
      proxy.refuse(false);
      await until(() => resets.length === 2, { what: 'a second listing', timeoutMs: 30_000 });
      expect(resets[1]).toBeGreaterThanOrEqual(last.revision);
      expect(valuesOf(ks)).toEqual(await contentOf(prefix));

      // And it follows on from there.
      const after = await t.etcd.put(`${prefix}e`, '1');
      await until(() => ks.revision >= after.revision, { what: 'the put after the re-read' });
      expect(valuesOf(ks)).toEqual(await contentOf(prefix));
    } finally {
      await ks.close();
      await etcd.close();
      await proxy.close();
    }
  });
});

describe('etcdkit ui: since when a holder holds', () => {
  it("finds the take-over revision in etcd's history, a lower bound once it is compacted, nothing for a waiter", async () => {
    const name = uniquePrefix('ui-since');
    const [la, lb] = await Promise.all([t.etcd.lease.grant(60), t.etcd.lease.grant(60)]);
    const ka = `${name}${la.id.toString(16)}`;
    const kb = `${name}${lb.id.toString(16)}`;
    await t.etcd.put(ka, '', { lease: la.id });
    const b = await t.etcd.put(kb, '', { lease: lb.id });
    await t.etcd.put(`${name}x`, 'an unrelated write');
    try {
      expect(await tookOver(t.etcd, name, kb, b.revision)).toBeUndefined(); // b waits
      expect(await tookOver(t.etcd, name, ka, b.revision - 1n)).toEqual({
        revision: b.revision - 1n,
        lowerBound: false,
      });
      const gone = await t.etcd.delete(ka);
      await t.etcd.put(`${name}x`, 'later');
      expect(await tookOver(t.etcd, name, kb, b.revision)).toEqual({
        revision: gone.revision,
        lowerBound: false,
      });
      const last = await t.etcd.put(`${name}x`, 'even later');
      await t.etcd.compact(last.revision);
      expect(await tookOver(t.etcd, name, kb, b.revision)).toEqual({
        revision: last.revision,
        lowerBound: true,
      });
    } finally {
      await Promise.all([la.revoke(), lb.revoke()]);
      await t.etcd.delete({ prefix: name });
    }
  });
});

describe('etcdkit ui: failures at start', () => {
  it('an unreachable etcd is one line and exit 1', async () => {
    const r = await runCli(['--endpoints', '127.0.0.1:1', '--dial-timeout', '300ms', 'ui', '--port', '0']);
    expect(r.code).toBe(1);
    expectOneLineError(r.stderr);
    expect(r.stdout).toBe('');
  });

  it('a port in use is one line that says what to do, exit 1', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await runCli([...flags(t), 'ui', '--port', String(port)]);
      expect(r.code).toBe(1);
      expect(expectOneLineError(r.stderr)).toContain(
        `cannot listen on 127.0.0.1:${port}: the port is in use`,
      );
    } finally {
      busy.close();
    }
  });

  it('bad options are usage errors (exit 2)', async () => {
    for (const args of [
      ['--port', '70000'],
      ['--port', 'x'],
      ['--refresh', '10ms'],
      ['--changes', '0'],
      ['extra'],
    ]) {
      const r = await runCli([...flags(t), 'ui', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expectOneLineError(r.stderr);
    }
  });
});

/** A raw HTTP request (fetch cannot set Host). */
function get(url: string, path: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
    const req = request(new URL(path, url), { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('etcdkit ui: the HTTP server', () => {
  it('serves the page and its scripts only, to IP addresses and localhost, and writes only with --allow-writes', async () => {
    const ui = await startUi(flags(t));
    try {
      const page = await get(ui.url, '/');
      expect(page.status).toBe(200);
      expect(page.type).toMatch(/^text\/html/);
      expect(page.body).toContain('<script type="module" src="/app/app.js">');
      const app = await get(ui.url, '/app/app.js');
      expect(app.status).toBe(200);
      expect(app.type).toMatch(/^text\/javascript/);
      expect((await get(ui.url, '/app/nope.js')).status).toBe(404);
      expect((await get(ui.url, '/app/..%2fpackage.json')).status).toBe(404);
      expect((await get(ui.url, '/etc/passwd')).status).toBe(404);
      expect((await get(ui.url, '/', { host: 'localhost:1' })).status).toBe(200);
      // A name that is neither localhost nor an address: what a rebound DNS name looks like.
      const rebound = await get(ui.url, '/events', { host: 'attacker.example' });
      expect(rebound.status).toBe(403);
      expect(rebound.body).toContain('is not served');
      const write = await get(ui.url, '/api/revoke-lease', { 'content-type': 'application/json' }, 'POST');
      expect(write.status).toBe(403);
      expect(write.body).toContain('--allow-writes');
      expect((await get(ui.url, '/api/revoke-lease')).status).toBe(405);
    } finally {
      await ui.stop();
    }
  });
});
