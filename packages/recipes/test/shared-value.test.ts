import { uniqueName, until, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, SharedValue, type Versioned } from '../src/index.js';

const t = useEtcd();

describe('SharedValue', () => {
  it('trySet with the current version succeeds; with a stale one it fails and changes nothing', async () => {
    const etcd = t.client();
    const a = new SharedValue(etcd, uniqueName('sv'));
    const b = new SharedValue(t.client(), a.key);
    expect(await a.get()).toEqual({ value: undefined, version: 0n });
    expect(await a.trySet('one', 0n)).toBe(true);
    const seenByA = await a.get();
    const seenByB = await b.get();
    expect(seenByA.value?.toString()).toBe('one');
    expect(seenByB.version).toBe(seenByA.version);
    expect(await b.trySet('from b', seenByB.version)).toBe(true);
    // a's version is stale now
    expect(await a.trySet('from a', seenByA.version)).toBe(false);
    expect((await a.get()).value?.toString()).toBe('from b');
    // 0n means "only if absent"
    expect(await a.trySet('again', 0n)).toBe(false);
  });

  it('a delete and re-create gives a new version, so an old version cannot match again', async () => {
    const etcd = t.client();
    const sv = new SharedValue(etcd, uniqueName('aba'));
    await sv.trySet('x', 0n);
    const old = await sv.get();
    await etcd.delete(sv.key);
    await sv.trySet('x', 0n);
    expect((await sv.get()).version).not.toBe(old.version);
    expect(await sv.trySet('y', old.version)).toBe(false);
  });

  it('changes() and subscribe() give the value now, then every change', async () => {
    const etcd = t.client();
    const sv = new SharedValue(etcd, uniqueName('observed'));
    await sv.set('a');
    const got: string[] = [];
    const sub = sv.subscribe((v: Versioned) => {
      got.push(v.value?.toString() ?? '<none>');
    });
    const values = (n: number) => until(() => got.length >= n, { what: `${n} values from subscribe()` });
    await values(1);
    await sv.set('b');
    await values(2);
    await etcd.delete(sv.key);
    await values(3);
    sub.unsubscribe();
    expect(got).toEqual(['a', 'b', '<none>']);
    expect((sv[Symbol.observable] as () => unknown)()).toBe(sv);
  });

  it('checks its input', async () => {
    const sv = new SharedValue(t.client(), uniqueName('bad'));
    await expect(sv.trySet('v', -1n)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(sv.trySet('v', 1.5)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(sv.trySet('v', 2n ** 64n)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(sv.trySet(undefined as unknown as string, 0n)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(() => new SharedValue(t.client(), new Uint8Array())).toThrow(InvalidArgumentError);
  });
});
