import { uniquePrefix, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { compare, InvalidArgumentError, InvalidTxnError, op, RequestTooLargeError } from '../src/index.js';

const t = useEtcd();

describe('txn', () => {
  it('runs then or else by compares on value, version, create, mod revision and lease', async () => {
    const etcd = t.client();
    const p = uniquePrefix('txn');
    const put = await etcd.put(`${p}k`, 'v1');
    const lease = await etcd.lease.grant(30);
    await etcd.put(`${p}leased`, 'x', { lease: lease.id });

    const cases = [
      [compare.value(`${p}k`, '==', 'v1'), true],
      [compare.value(`${p}k`, '!=', 'v1'), false],
      [compare.value(`${p}k`, '>', 'v0'), true],
      [compare.value(`${p}k`, '<', 'v0'), false],
      [compare.version(`${p}k`, '==', 1), true],
      [compare.version(`${p}missing`, '==', 0), true],
      [compare.createRevision(`${p}k`, '==', put.revision), true],
      [compare.createRevision(`${p}missing`, '==', 0n), true],
      [compare.modRevision(`${p}k`, '<', put.revision + 1n), true],
      [compare.modRevision(`${p}k`, '>', put.revision), false],
      [compare.lease(`${p}leased`, '==', lease.id), true],
      [compare.lease(`${p}k`, '==', 0n), true],
    ] as const;
    for (const [c, expected] of cases) {
      const r = await etcd
        .txn()
        .if(c)
        .then(op.get(`${p}k`))
        .else(op.get(`${p}leased`))
        .commit();
      expect(r.succeeded).toBe(expected);
      const first = r.responses[0]!;
      expect(first.type).toBe('range');
      if (first.type === 'range')
        expect(first.kvs[0]?.key.toString()).toBe(expected ? `${p}k` : `${p}leased`);
    }
    await lease.revoke();
  });

  it('returns typed responses for put, get, delete and a nested txn', async () => {
    const etcd = t.client();
    const p = uniquePrefix('ops');
    await etcd.put(`${p}old`, 'o');
    const r = await etcd
      .txn()
      .then(
        op.put(`${p}a`, 'A'),
        op.put(`${p}old`, 'new', { prevKv: true }),
        op.get({ prefix: p }),
        op.delete(`${p}gone`),
        // etcd evaluates every compare, nested ones included, before any op of the txn runs.
        op.txn({ if: [compare.value(`${p}old`, '==', 'o')], then: [op.get(`${p}a`)], else: [] }),
      )
      .commit();
    // No compares: always succeeds.
    expect(r.succeeded).toBe(true);
    expect(typeof r.revision).toBe('bigint');
    expect(r.responses.map((x) => x.type)).toEqual(['put', 'put', 'range', 'delete', 'txn']);
    const [, put, range, del, nested] = r.responses;
    if (put?.type === 'put') expect(put.prevKv?.value.toString()).toBe('o');
    if (range?.type === 'range') expect(range.kvs.map((kv) => kv.value.toString())).toEqual(['A', 'new']);
    if (del?.type === 'delete') expect(del.deleted).toBe(0);
    expect(nested?.type === 'txn' && nested.succeeded).toBe(true);
    if (nested?.type === 'txn') {
      const inner = nested.responses[0];
      expect(inner?.type === 'range' && inner.kvs[0]?.value.toString()).toBe('A');
    }
  });

  it('applies namespaces to compares and ops', async () => {
    const root = t.client();
    const p = uniquePrefix('nstxn');
    const ns = root.namespace(p);
    const r = await ns
      .txn()
      .if(compare.createRevision('k', '==', 0))
      .then(op.put('k', 'v'), op.get('k'))
      .commit();
    expect(r.succeeded).toBe(true);
    const got = r.responses[1];
    expect(got?.type === 'range' && got.kvs[0]?.key.toString()).toBe('k');
    expect((await root.get(`${p}k`))?.value.toString()).toBe('v');
  });

  it('maps etcd refusals to typed errors and rejects malformed builders', async () => {
    const etcd = t.client();
    const p = uniquePrefix('bad');
    const dup = etcd
      .txn()
      .then(op.put(`${p}k`, '1'), op.put(`${p}k`, '2'))
      .commit();
    await expect(dup).rejects.toBeInstanceOf(InvalidTxnError);
    await expect(dup).rejects.toMatchObject({ code: 'INVALID_TXN', reason: 'duplicate-key' });
    const many = etcd
      .txn()
      .then(...Array.from({ length: 200 }, (_, i) => op.put(`${p}${i}`, 'x')))
      .commit();
    await expect(many).rejects.toMatchObject({ code: 'INVALID_TXN', reason: 'too-many-ops' });
    expect(() => etcd.txn().if(op.get('x') as never)).toThrow(InvalidArgumentError);
    expect(() => compare.value('k', '=' as never, 'x')).toThrow(/operator must be one of/);
  });

  it('builds each operation once, as it is added, and reports one that cannot be built from commit()', async () => {
    const etcd = t.client();
    const p = uniquePrefix('built');
    // An empty key or an oversized value is refused when commit() is called, as a rejection, and nothing is sent.
    const empty = etcd
      .txn()
      .then(op.put(`${p}ok`, '1'), op.put('', 'x'))
      .commit();
    await expect(empty).rejects.toBeInstanceOf(InvalidArgumentError);
    const huge = etcd
      .txn()
      .then(op.put(`${p}big`, Buffer.alloc(2 * 1024 * 1024)))
      .commit();
    await expect(huge).rejects.toBeInstanceOf(RequestTooLargeError);
    expect(await etcd.get(`${p}ok`)).toBeUndefined();
    // A built txn can be committed again: the same request, sent again.
    const txn = etcd
      .txn()
      .if(compare.version(`${p}n`, '==', 0))
      .then(op.put(`${p}n`, 'a'))
      .else(op.get(`${p}n`));
    expect((await txn.commit()).succeeded).toBe(true);
    const again = await txn.commit();
    expect(again.succeeded).toBe(false);
    expect(again.responses[0]).toMatchObject({ type: 'range', kvs: [{ value: Buffer.from('a') }] });
  });
});
