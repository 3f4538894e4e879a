import { uniqueName, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { AbortError, Counter, InvalidArgumentError, InvalidValueError } from '../src/index.js';

const t = useEtcd();

describe('Counter', () => {
  it('8 workers x 200 add(1) end exactly at 1600, each add seeing its own new value', async () => {
    const key = uniqueName('hits');
    const results: bigint[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const c = new Counter(t.client(), key);
        for (let i = 0; i < 200; i++) results.push(await c.add(1));
      }),
    );
    const admin = t.client();
    expect(await new Counter(admin, key).get()).toBe(1600n);
    expect((await admin.get(key))?.value.toString()).toBe('1600');
    // every add returned a different value: 1..1600, each once
    const sorted = [...results].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(sorted).toEqual(Array.from({ length: 1600 }, (_, i) => BigInt(i + 1)));
  });

  it('counts from 0 when absent, adds negatives and int64 bigints, refuses to overflow', async () => {
    const etcd = t.client();
    const c = new Counter(etcd, uniqueName('c'));
    expect(await c.get()).toBe(0n);
    expect(await c.add()).toBe(1n);
    expect(await c.add(-5)).toBe(-4n);
    expect(await c.add(2n ** 62n)).toBe(2n ** 62n - 4n);
    expect(await c.add(2n ** 62n)).toBe(2n ** 63n - 4n);
    await expect(c.add(4)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await c.get()).toBe(2n ** 63n - 4n); // unchanged
    expect(await c.add(3)).toBe(2n ** 63n - 1n);
    expect(await c.add(-(2n ** 63n) + 1n)).toBe(0n);
    for (const bad of [1.5, Number.NaN, 2 ** 53, '1', 2n ** 63n, null])
      await expect(c.add(bad as number)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('a key that is not a decimal int64 gives InvalidValueError', async () => {
    const etcd = t.client();
    const key = uniqueName('garbage');
    await etcd.put(key, 'twelve');
    await expect(new Counter(etcd, key).add(1)).rejects.toBeInstanceOf(InvalidValueError);
    await etcd.put(key, '99999999999999999999');
    await expect(new Counter(etcd, key).get()).rejects.toBeInstanceOf(InvalidValueError);
    expect(() => new Counter(etcd, '')).toThrow(InvalidArgumentError);
    expect(() => new Counter({} as never, 'k')).toThrow(InvalidArgumentError);
  });

  it('watch() yields the value now, then each new one, and ends on abort', async () => {
    const etcd = t.client();
    const key = uniqueName('watched');
    const c = new Counter(etcd, key);
    await c.add(3);
    const ac = new AbortController();
    const seen: bigint[] = [];
    const it = c.watch({ signal: ac.signal })[Symbol.asyncIterator]();
    seen.push((await it.next()).value as bigint);
    await c.add(1);
    seen.push((await it.next()).value as bigint);
    await etcd.delete(key);
    seen.push((await it.next()).value as bigint);
    expect(seen).toEqual([3n, 4n, 0n]);
    const pending = it.next();
    ac.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
  });

  it('add() with an aborted signal rejects with AbortError and adds nothing', async () => {
    const etcd = t.client();
    const c = new Counter(etcd, uniqueName('aborted'));
    await expect(c.add(1, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    expect(await c.get()).toBe(0n);
  });
});
