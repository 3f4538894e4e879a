import { uniquePrefix, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { CompactedError, op } from '../src/index.js';

const t = useEtcd();

describe('scan', () => {
  it('pages a 10 000-key prefix at one revision while writes happen', async () => {
    const etcd = t.client();
    const p = uniquePrefix('scan');
    const total = 10_000;
    for (let i = 0; i < total; i += 100) {
      const ops = Array.from({ length: 100 }, (_, j) =>
        op.put(`${p}${String(i + j).padStart(5, '0')}`, `v${i + j}`),
      );
      await etcd
        .txn()
        .then(...ops)
        .commit();
    }
    const seen: string[] = [];
    let writes = 0;
    const iterator = etcd.scan({ prefix: p, pageSize: 250 });
    // The first page fixes the scan's revision; the writes start after it.
    const first = await iterator.next();
    const writer = (async () => {
      // Writes during the scan: new keys, changed values and deletes must not show.
      for (let i = 0; i < 200; i++) {
        await etcd.put(`${p}${String(i * 37).padStart(5, '0')}`, 'changed');
        await etcd.put(`${p}new-${i}`, 'new');
        await etcd.delete(`${p}${String(i * 41 + 1).padStart(5, '0')}`);
        writes++;
      }
    })();
    try {
      for (let r = first; !r.done; r = await iterator.next()) {
        const kv = r.value;
        seen.push(kv.key.toString());
        expect(kv.value.toString()).toMatch(/^v\d+$/);
        // Give the writer turns between pages.
        if (seen.length % 250 === 0) await new Promise((r) => setTimeout(r, 1));
      }
    } finally {
      await writer;
    }
    expect(writes).toBe(200);
    expect(seen).toHaveLength(total);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(total);
  });

  it('throws CompactedError when its revision is compacted mid-scan', async () => {
    const etcd = t.client();
    const p = uniquePrefix('scancompact');
    for (let i = 0; i < 30; i++) await etcd.put(`${p}${String(i).padStart(2, '0')}`, 'x');
    const it = etcd.scan({ prefix: p, pageSize: 10 });
    const first = await it.next();
    expect(first.done).toBe(false);
    for (let i = 0; i < 9; i++) await it.next();
    const last = await etcd.put(`${p}zz`, 'later');
    await etcd.compact(last.revision);
    const err = await it.next().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompactedError);
  });
});
