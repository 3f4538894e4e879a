import { Etcd, op } from '@etcdkit/core';
import { startEtcd } from '@etcdkit/testkit';
import { useEtcd } from '@etcdkit/testkit/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { listChildren } from '../src/index.js';
import { ensureBuilt, flags, runCli } from './run-cli.js';

const t = useEtcd({ useEnv: false });
beforeAll(ensureBuilt, 180_000);

interface Listed {
  prefix: string;
  revision: string;
  children: { name: string; type: 'key' | 'prefix'; count: number }[];
}

/** The expected listing, computed the plain way: every key, split at the next '/'. */
function expected(keys: readonly string[], dir: string): Listed['children'] {
  const m = new Map<string, { type: 'key' | 'prefix'; count: number }>();
  for (const k of keys) {
    if (!k.startsWith(dir)) continue;
    const from = dir === '' && k.startsWith('/') ? 1 : dir.length;
    const i = k.indexOf('/', from);
    const name = i < 0 ? k : k.slice(0, i + 1);
    const e = m.get(name) ?? { type: i < 0 ? 'key' : 'prefix', count: 0 };
    e.count++;
    m.set(name, e);
  }
  return [...m]
    .sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map(([name, e]) => ({ name, ...e }));
}

// A /registry tree of 20 000 keys: a few large kinds, many small ones, keys at the top level.
const keys: string[] = [];
const sizes: Record<string, number> = { pods: 9000, services: 4000, configmaps: 3000, events: 2500 };
for (const [kind, n] of Object.entries(sizes))
  for (let i = 0; i < n; i++) keys.push(`/registry/${kind}/ns-${i % 37}/${kind}-${i}`);
for (let k = 0; k < 30; k++) for (let i = 0; i < 40; i++) keys.push(`/registry/kind-${k}/ns/obj-${i}`);
for (let i = 0; i < 300; i++) keys.push(`/registry/flag-${i}`);
const others = ['/other/a', '/other/b/c', 'top-level', '/registry'];

describe('etcdkit ls', () => {
  beforeAll(async () => {
    const all = [...keys, ...others];
    const batches: string[][] = [];
    for (let i = 0; i < all.length; i += 128) batches.push(all.slice(i, i + 128));
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < batches.length) {
          const b = batches[next++]!;
          await t.etcd
            .txn()
            .then(...b.map((k) => op.put(k, 'v')))
            .commit();
        }
      }),
    );
    expect(keys).toHaveLength(20_000);
  }, 120_000);

  it('lists the children of /registry with their counts (20 000 keys)', async () => {
    const r = await runCli([...flags(t), 'ls', '/registry', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const listed = JSON.parse(r.stdout) as Listed;
    expect(listed.prefix).toBe('/registry/');
    expect(listed.children).toEqual(expected(keys, '/registry/'));
    expect(listed.children.find((c) => c.name === '/registry/pods/')).toEqual({
      name: '/registry/pods/',
      type: 'prefix',
      count: 9000,
    });
    expect(listed.children.reduce((n, c) => n + c.count, 0)).toBe(20_000);
  });

  it('prints a name and a count per line', async () => {
    const r = await runCli([...flags(t), 'ls', '/registry/']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const want = expected(keys, '/registry/');
    expect(lines).toHaveLength(want.length);
    expect(lines.map((l) => l.split(/\s+/))).toEqual(want.map((c) => [c.name, String(c.count)]));
  });

  it('gives the same answer with small pages (children cut by page boundaries)', async () => {
    const plain = (l: Awaited<ReturnType<typeof listChildren>>) =>
      l.children.map((c) => ({ name: c.name.toString(), type: c.type, count: c.count }));
    expect(plain(await listChildren(t.etcd, '/registry', { pageSize: 100 }))).toEqual(
      expected(keys, '/registry/'),
    );
    expect(plain(await listChildren(t.etcd, '/registry/pods/', { pageSize: 7 }))).toEqual(
      expected(keys, '/registry/pods/'),
    );
    expect(plain(await listChildren(t.etcd, '/registry/kind-3/ns/', { pageSize: 1 }))).toEqual(
      expected(keys, '/registry/kind-3/ns/'),
    );
  });

  it('lists the top of the keyspace, a deeper level, and inside --namespace', async () => {
    const top = JSON.parse((await runCli([...flags(t), 'ls', '--json'])).stdout) as Listed;
    expect(top.children).toEqual(expected([...keys, ...others], ''));
    expect(top.children.map((c) => c.name)).toEqual(['/other/', '/registry', '/registry/', 'top-level']);
    // `ls /` is the root too: keys without a leading slash are listed beside the others.
    const root = JSON.parse((await runCli([...flags(t), 'ls', '/', '--json'])).stdout) as Listed;
    expect(root).toEqual(top);

    const pods = JSON.parse((await runCli([...flags(t), 'ls', '/registry/pods', '--json'])).stdout) as Listed;
    expect(pods.children).toHaveLength(37);
    expect(pods.children).toEqual(expected(keys, '/registry/pods/'));

    const ns = JSON.parse(
      (await runCli([...flags(t), '--namespace', '/registry/', 'ls', '--json'])).stdout,
    ) as Listed;
    expect(ns.children.find((c) => c.name === 'services/')?.count).toBe(4000);
    expect(ns.children.reduce((n, c) => n + c.count, 0)).toBe(20_000);
  });

  it('an empty listing says so on stderr, and where the keys are when only the leading slash differs', async () => {
    await t.etcd.put('slashless/a/1', 'v');
    await t.etcd.put('slashless/b', 'v');
    const slash = await runCli([...flags(t), 'ls', '/slashless']);
    expect(slash).toMatchObject({ code: 0, stdout: '' });
    expect(slash.stderr.trim()).toBe(
      'etcdkit: no keys under "/slashless/"; 2 keys are under "slashless/" (without the leading slash): etcdkit ls slashless/',
    );
    const plain = await runCli([...flags(t), 'ls', 'slashless']);
    expect(plain).toMatchObject({ code: 0, stderr: '' });
    expect(plain.stdout.split('\n').filter(Boolean)).toEqual(['slashless/a/  1', 'slashless/b   1']);
    const back = await runCli([...flags(t), 'ls', 'other']);
    expect(back.stderr.trim()).toBe(
      'etcdkit: no keys under "other/"; 2 keys are under "/other/" (with a leading slash): etcdkit ls /other/',
    );
    const none = await runCli([...flags(t), 'ls', '/nothing-here']);
    expect(none).toMatchObject({ code: 0, stdout: '' });
    expect(none.stderr.trim()).toBe('etcdkit: no keys under "/nothing-here/"');
    // --json: the empty listing alone.
    const json = await runCli([...flags(t), 'ls', '/nothing-here', '--json']);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(json.stdout)).toMatchObject({ prefix: '/nothing-here/', children: [] });
  });

  it('lists binary and non-ASCII names, keys at the level itself and tiny pages correctly', async () => {
    const dir = Buffer.from('/bin-test/');
    const name = (...parts: (string | number[])[]) =>
      Buffer.concat([dir, ...parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))]);
    const bin: Buffer[] = [Buffer.from('/bin-test'), dir];
    for (let i = 0; i < 5; i++) {
      bin.push(name('caf\u00e9/', String(i)));
      bin.push(name([0x01], 'ctl/', String(i)));
      bin.push(name([0xff, 0xfe], '/', String(i)));
      bin.push(name('leaf-', String(i)));
      bin.push(name('same/', String(i)));
      bin.push(name('same', String(i), '/x'));
      bin.push(name([0x7f], String(i)));
    }
    await t.etcd
      .txn()
      .then(...bin.map((k) => op.put(k, 'v')))
      .commit();
    // The plain answer, on bytes.
    const want = new Map<string, { name: Buffer; type: 'key' | 'prefix'; count: number }>();
    for (const k of bin) {
      if (!k.subarray(0, dir.length).equals(dir)) continue;
      const i = k.indexOf(0x2f, dir.length);
      const n = i < 0 ? k : k.subarray(0, i + 1);
      const e = want.get(n.toString('hex')) ?? {
        name: n,
        type: i < 0 ? ('key' as const) : ('prefix' as const),
        count: 0,
      };
      e.count++;
      want.set(n.toString('hex'), e);
    }
    const sorted = [...want.values()].sort((a, b) => Buffer.compare(a.name, b.name));
    for (const pageSize of [1, 2, 3, 1000]) {
      const got = await listChildren(t.etcd, dir, { pageSize });
      expect(got.children, `pageSize ${pageSize}`).toEqual(sorted);
    }
  });

  it('pages instead when etcd refuses large transactions (--max-txn-ops)', async () => {
    const server = await startEtcd({ useEnv: false, args: ['--max-txn-ops', '16'] });
    const etcd = new Etcd({ endpoints: server.endpoints });
    try {
      const small = keys.filter((_, i) => i % 40 === 0);
      for (let i = 0; i < small.length; i += 16)
        await etcd
          .txn()
          .then(...small.slice(i, i + 16).map((k) => op.put(k, 'v')))
          .commit();
      const got = await listChildren(etcd, '/registry/', { pageSize: 10 });
      expect(got.children.map((c) => ({ name: c.name.toString(), type: c.type, count: c.count }))).toEqual(
        expected(small, '/registry/'),
      );
    } finally {
      await etcd.close();
      await server.close();
    }
  });

  it('refuses extra arguments', async () => {
    const extra = await runCli([...flags(t), 'ls', '/a', '/b']);
    expect(extra.code).toBe(2);
  });
});
