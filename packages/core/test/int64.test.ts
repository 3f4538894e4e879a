import { uniquePrefix as uniq, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { compare, InvalidArgumentError, op } from '../src/index.js';
import { checkInt64, checkUint63, INT64_MAX } from '../src/internal.js';

const t = useEtcd();

describe('checkInt64', () => {
  it('accepts bigints and safe-integer numbers within the range, as bigint', () => {
    expect(checkInt64(5, 'x')).toBe(5n);
    expect(checkInt64(-(2n ** 63n), 'x')).toBe(-(2n ** 63n));
    expect(checkUint63(INT64_MAX, 'x')).toBe(INT64_MAX);
    expect(checkUint63(Number.MAX_SAFE_INTEGER, 'x')).toBe(BigInt(Number.MAX_SAFE_INTEGER));
    expect(checkInt64(7n, 'x', { min: 1n, max: 10n })).toBe(7n);
  });

  it('refuses what would wrap or round, naming the argument and the range', () => {
    const bad: unknown[] = [
      2n ** 63n,
      2n ** 64n,
      -1,
      -1n,
      1.5,
      Number.NaN,
      Infinity,
      2 ** 53,
      1e21,
      '5',
      null,
    ];
    for (const v of bad) {
      const err = (() => {
        try {
          checkUint63(v, 'lease id');
          return undefined;
        } catch (e) {
          return e;
        }
      })();
      expect(err, String(v)).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toMatch(/^lease id must be a non-negative integer \(0 to 2\^63-1\)/);
    }
    expect(() => checkInt64(11n, 'n', { min: 1n, max: 10n })).toThrow(
      /n must be an integer from 1 to 10 .*; got 11n/,
    );
  });
});

describe('int64 at the API edge (real etcd)', () => {
  it('a put with lease id 2^64 fails instead of writing the key without a lease', async () => {
    const etcd = t.client();
    const key = `${uniq('lease64')}k`;
    await expect(etcd.put(key, 'v', { lease: 2n ** 64n })).rejects.toThrow(InvalidArgumentError);
    await expect(etcd.put(key, 'v', { lease: 2n ** 63n })).rejects.toThrow(
      /lease must be a non-negative integer/,
    );
    await expect(etcd.put(key, 'v', { lease: -1n })).rejects.toThrow(InvalidArgumentError);
    // Nothing was written.
    expect(await etcd.get(key)).toBeUndefined();
    // In a transaction too.
    await expect(
      etcd
        .txn()
        .then(op.put(key, 'v', { lease: 2n ** 64n }))
        .commit(),
    ).rejects.toThrow(InvalidArgumentError);
    expect(await etcd.get(key)).toBeUndefined();
  });

  it('revisions, versions, limits and compare operands out of int64 are refused', async () => {
    const etcd = t.client();
    const key = `${uniq('rev64')}k`;
    await expect(etcd.get(key, { revision: 2n ** 64n })).rejects.toThrow(
      /revision must be a non-negative integer/,
    );
    await expect(etcd.get(key, { revision: 1.5 })).rejects.toThrow(InvalidArgumentError);
    await expect(etcd.range({ prefix: key, limit: 2 ** 60 })).rejects.toThrow(/limit must be/);
    await expect(etcd.range({ prefix: key, maxModRevision: 2n ** 63n })).rejects.toThrow(/maxModRevision/);
    expect(() => compare.version(key, '==', 2n ** 64n)).toThrow(/version must be/);
    expect(() => compare.modRevision(key, '>', -1)).toThrow(/modRevision must be/);
    expect(() => compare.createRevision(key, '==', Number.NaN)).toThrow(/createRevision must be/);
    expect(() => compare.lease(key, '==', 2n ** 64n)).toThrow(/lease must be/);
    await expect(etcd.compact(2n ** 64n)).rejects.toThrow(/compact revision must be a positive integer/);
    await expect(etcd.compact(0n)).rejects.toThrow(InvalidArgumentError);
    // The largest valid revision reaches etcd, which says it is in the future.
    await expect(etcd.get(key, { revision: INT64_MAX })).rejects.toMatchObject({ code: 'FUTURE_REVISION' });
  });
});
