import { etcdctl } from '@etcdkit/testkit';
import { uniquePrefix, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { ClientClosedError, InvalidArgumentError, RequestTooLargeError } from '../src/index.js';

const t = useEtcd();

describe('KV', () => {
  it('puts and gets with bigint revisions, Buffers out and prevKv', async () => {
    const etcd = t.client();
    const p = uniquePrefix('kv');
    const first = await etcd.put(`${p}a`, 'one');
    expect(typeof first.revision).toBe('bigint');
    const second = await etcd.put(`${p}a`, 'two', { prevKv: true });
    expect(second.revision).toBeGreaterThan(first.revision);
    expect(second.prevKv?.value.toString()).toBe('one');
    const kv = await etcd.get(`${p}a`);
    expect(kv?.key).toEqual(Buffer.from(`${p}a`));
    expect(kv?.value).toEqual(Buffer.from('two'));
    expect(kv?.createRevision).toBe(first.revision);
    expect(kv?.modRevision).toBe(second.revision);
    expect(kv?.version).toBe(2n);
    expect(kv?.lease).toBe(0n);
    expect(await etcd.get(`${p}missing`)).toBeUndefined();
    // Reading at an older revision sees the old value.
    expect((await etcd.get(`${p}a`, { revision: first.revision }))?.value.toString()).toBe('one');
  });

  it('is binary safe for keys and values', async () => {
    const etcd = t.client();
    const key = Buffer.from([0x00, 0xff, 0x10, 0x80]);
    const value = new Uint8Array([0, 1, 2, 255, 254]);
    await etcd.put(key, value);
    const kv = await etcd.get(key);
    expect(kv?.key).toEqual(key);
    expect(kv?.value).toEqual(Buffer.from(value));
    await etcd.delete(key);
  });

  it('ranges by prefix, [key, end), fromKey, with limit, sort, keysOnly and countOnly', async () => {
    const etcd = t.client();
    const p = uniquePrefix('range');
    for (const k of ['a', 'b', 'c', 'd']) await etcd.put(`${p}${k}`, `v-${k}`);
    const all = await etcd.range({ prefix: p });
    expect(all.kvs.map((kv) => kv.key.toString())).toEqual(['a', 'b', 'c', 'd'].map((k) => p + k));
    expect(all.count).toBe(4);
    expect(all.more).toBe(false);

    const limited = await etcd.range({ prefix: p, limit: 2 });
    expect(limited.kvs).toHaveLength(2);
    expect(limited.more).toBe(true);
    expect(limited.count).toBe(4);

    const between = await etcd.range({ key: `${p}b`, end: `${p}d` });
    expect(between.kvs.map((kv) => kv.value.toString())).toEqual(['v-b', 'v-c']);

    const from = await etcd.range({ key: `${p}c`, fromKey: true, limit: 10 });
    expect(from.kvs[0]?.key.toString()).toBe(`${p}c`);
    expect(from.kvs.map((kv) => kv.key.toString())).toContain(`${p}d`);

    const desc = await etcd.range({ prefix: p, sort: { target: 'key', order: 'descend' } });
    expect(desc.kvs.map((kv) => kv.value.toString())).toEqual(['v-d', 'v-c', 'v-b', 'v-a']);

    const byCreate = await etcd.range({ prefix: p, sort: { target: 'create', order: 'descend' }, limit: 1 });
    expect(byCreate.kvs[0]?.value.toString()).toBe('v-d');

    const keysOnly = await etcd.range({ prefix: p, keysOnly: true });
    expect(keysOnly.kvs.every((kv) => kv.value.length === 0)).toBe(true);

    const countOnly = await etcd.range({ prefix: p, countOnly: true });
    expect(countOnly.kvs).toHaveLength(0);
    expect(countOnly.count).toBe(4);

    const minCreate = all.kvs[2]!.createRevision;
    const newer = await etcd.range({ prefix: p, minCreateRevision: minCreate });
    expect(newer.kvs.map((kv) => kv.value.toString())).toEqual(['v-c', 'v-d']);
    const older = await etcd.range({ prefix: p, maxModRevision: all.kvs[1]!.modRevision });
    expect(older.kvs.map((kv) => kv.value.toString())).toEqual(['v-a', 'v-b']);

    const serial = await etcd.range({ prefix: p, serializable: true });
    expect(serial.count).toBe(4);
  });

  it('deletes a key, a prefix, a range and from a key, returning prevKvs', async () => {
    const root = t.client();
    const p = uniquePrefix('del');
    await root.put(`${p}zz-outside`, 'stays');
    // Inside a namespace, fromKey stops at the end of the namespace.
    const etcd = root.namespace(`${p}in/`);
    for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) await etcd.put(k, k);
    const one = await etcd.delete('a', { prevKv: true });
    expect(one.deleted).toBe(1);
    expect(one.prevKvs[0]?.value.toString()).toBe('a');
    expect(one.prevKvs[0]?.key.toString()).toBe('a');
    const range = await etcd.delete({ key: 'b', end: 'c' });
    expect(range.deleted).toBe(1);
    const from = await etcd.delete({ key: 'e', fromKey: true }, { prevKv: true });
    expect(from.prevKvs.map((kv) => kv.key.toString())).toEqual(['e', 'f']);
    const rest = await etcd.delete({ prefix: '' });
    expect(rest.deleted).toBe(2);
    expect((await etcd.range({ prefix: '' })).count).toBe(0);
    expect((await etcd.delete('nothing')).deleted).toBe(0);
    expect((await root.get(`${p}zz-outside`))?.value.toString()).toBe('stays');
  });

  it('supports ignoreValue and ignoreLease', async () => {
    const etcd = t.client();
    const p = uniquePrefix('ignore');
    const lease = await etcd.lease.grant(30);
    await etcd.put(`${p}k`, 'keep', { lease: lease.id });
    await etcd.put(`${p}k`, '', { ignoreValue: true });
    let kv = await etcd.get(`${p}k`);
    expect(kv?.value.toString()).toBe('keep');
    expect(kv?.lease).toBe(0n);
    await etcd.put(`${p}k`, 'x', { lease: lease.id });
    await etcd.put(`${p}k`, 'y', { ignoreLease: true });
    kv = await etcd.get(`${p}k`);
    expect(kv?.value.toString()).toBe('y');
    expect(kv?.lease).toBe(lease.id);
    await lease.revoke();
  });

  it('namespaces prefix and unprefix keys transparently and stay inside their prefix', async () => {
    const etcd = t.client();
    const p = uniquePrefix('ns');
    await etcd.put(`${p}outside`, 'no');
    const ns = etcd.namespace(`${p}app/`);
    await ns.put('a', '1');
    await ns.put('b', '2');
    expect((await ns.get('a'))?.key.toString()).toBe('a');
    expect((await etcd.get(`${p}app/a`))?.value.toString()).toBe('1');
    const all = await ns.range({ prefix: '' });
    expect(all.kvs.map((kv) => kv.key.toString())).toEqual(['a', 'b']);
    const fromKey = await ns.range({ key: 'a', fromKey: true });
    expect(fromKey.kvs.map((kv) => kv.key.toString())).toEqual(['a', 'b']);
    const nested = ns.namespace('deep/');
    await nested.put('x', 'y');
    expect((await etcd.get(`${p}app/deep/x`))?.value.toString()).toBe('y');
    expect((await ns.delete({ prefix: '' })).deleted).toBe(3);
    expect((await etcd.get(`${p}outside`))?.value.toString()).toBe('no');
    // Closing a view leaves the shared connection open.
    await ns.close();
    await expect(ns.get('a')).rejects.toBeInstanceOf(ClientClosedError);
    expect((await etcd.get(`${p}outside`))?.value.toString()).toBe('no');
  });

  it('reads back through etcdctl exactly what it wrote, and the reverse', async () => {
    const etcd = t.client();
    const p = uniquePrefix('ctl');
    const value = 'line one\nline two ✓ with unicode';
    await etcd.put(`${p}from-etcdkit`, value);
    const got = await etcdctl(['get', `${p}from-etcdkit`, '--print-value-only'], {
      endpoints: t.server.endpoints,
    });
    expect(got.code).toBe(0);
    expect(got.stdout).toBe(`${value}\n`);
    const put = await etcdctl(['put', `${p}from-etcdctl`, 'hello from etcdctl'], {
      endpoints: t.server.endpoints,
    });
    expect(put.code).toBe(0);
    expect((await etcd.get(`${p}from-etcdctl`))?.value.toString()).toBe('hello from etcdctl');
  });

  it('rejects bad input before the wire with InvalidArgumentError', async () => {
    const etcd = t.client();
    await expect(etcd.put('', 'x')).rejects.toThrow(InvalidArgumentError);
    await expect(etcd.get('')).rejects.toThrow(/must not be empty/);
    await expect(etcd.range({ prefix: 'a', limit: -1 })).rejects.toThrow(
      /limit must be a non-negative integer/,
    );
    await expect(etcd.range({ key: 'a', prefix: 'b' })).rejects.toThrow(InvalidArgumentError);
    await expect(etcd.range({ key: 'a', revision: -5 })).rejects.toThrow(/must not be negative/);
    await expect(etcd.put('k', 12 as unknown as string)).rejects.toThrow(/string or Uint8Array/);
    await expect(etcd.put('big', Buffer.alloc(2 * 1024 * 1024))).rejects.toThrow(/more than etcd accepts/);
    await expect(etcd.lease.grant(0)).rejects.toThrow(/ttl must be a whole number/);
    await expect(etcd.compact(0)).rejects.toThrow(InvalidArgumentError);
    expect(() => etcd.namespace('')).toThrow(InvalidArgumentError);
  });

  it('maps etcd refusing a large request to RequestTooLargeError', async () => {
    // Raise the client's own limit so the request reaches etcd, which refuses it.
    const etcd = t.client({ maxRequestBytes: 8 * 1024 * 1024 });
    await expect(etcd.put(uniquePrefix('large'), Buffer.alloc(2 * 1024 * 1024))).rejects.toBeInstanceOf(
      RequestTooLargeError,
    );
  });

  it('compacts, after which old revisions are gone', async () => {
    const etcd = t.client();
    const p = uniquePrefix('compact');
    const a = await etcd.put(`${p}k`, '1');
    const b = await etcd.put(`${p}k`, '2');
    await etcd.compact(b.revision, { physical: true });
    const err = await etcd.get(`${p}k`, { revision: a.revision }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('CompactedError');
    expect((await etcd.get(`${p}k`))?.value.toString()).toBe('2');
  });
});
