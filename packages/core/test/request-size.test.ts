import { uniquePrefix as uniq, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { op, RequestTooLargeError } from '../src/index.js';

// etcd's default --max-request-bytes, which etcdkit's maxRequestBytes mirrors by default.
const LIMIT = 1.5 * 1024 * 1024;
const t = useEtcd();

describe('request size at the boundary of a real etcd', () => {
  it('refuses locally exactly what etcd would refuse, with the one RequestTooLargeError', async () => {
    const key = `${uniq('size')}k`;
    // A client that leaves the check to etcd, to find etcd's own boundary for this key.
    const raw = t.client({ maxRequestBytes: 64 * 1024 * 1024, retries: 0 });
    const accepted = async (n: number) => {
      try {
        await raw.put(key, Buffer.alloc(n, 0x61));
        return true;
      } catch (err) {
        expect(err).toBeInstanceOf(RequestTooLargeError);
        expect((err as RequestTooLargeError).size).toBeUndefined(); // refused by etcd, not locally
        return false;
      }
    };
    let lo = LIMIT - 1024; // accepted
    let hi = LIMIT; // refused: the value alone is the limit
    expect(await accepted(lo)).toBe(true);
    expect(await accepted(hi)).toBe(false);
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await accepted(mid)) lo = mid;
      else hi = mid;
    }
    // lo: the largest value etcd accepts with this key; etcd counts some 30 bytes besides key and value.
    expect(LIMIT - lo - Buffer.byteLength(key)).toBeGreaterThan(20);
    const etcd = t.client({ retries: 0 });
    // One byte more than etcd accepts is refused before it is sent.
    const over = (await etcd
      .put(key, Buffer.alloc(lo + 1, 0x62))
      .catch((e: unknown) => e)) as RequestTooLargeError;
    expect(over).toBeInstanceOf(RequestTooLargeError);
    expect(over.code).toBe('REQUEST_TOO_LARGE');
    expect(over.size).toBeGreaterThan(LIMIT);
    expect(over.limit).toBe(LIMIT);
    expect((await etcd.get(key))?.value[0]).toBe(0x61);
    // The local check counts etcd's request ID at its largest: at most 3 bytes of slack.
    await etcd.put(key, Buffer.alloc(lo - 3, 0x63));
    expect((await etcd.get(key))?.value.length).toBe(lo - 3);
    // In a transaction too (its put is wrapped once more: a few bytes less fit).
    const txn = (await etcd
      .txn()
      .then(op.put(key, Buffer.alloc(lo + 1, 0x64)))
      .commit()
      .catch((e: unknown) => e)) as RequestTooLargeError;
    expect(txn).toBeInstanceOf(RequestTooLargeError);
    expect(txn.size).toBeGreaterThan(LIMIT);
    const txnRaw = (await raw
      .txn()
      .then(op.put(key, Buffer.alloc(lo + 1, 0x64)))
      .commit()
      .catch((e: unknown) => e)) as RequestTooLargeError;
    expect(txnRaw).toBeInstanceOf(RequestTooLargeError);
    expect(txnRaw.size).toBeUndefined();
    await etcd
      .txn()
      .then(op.put(key, Buffer.alloc(lo - 16, 0x65)))
      .commit();
    expect((await etcd.get(key))?.value[0]).toBe(0x65);
  });
});
