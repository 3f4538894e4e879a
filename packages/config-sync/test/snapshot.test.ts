// The snapshot structure and value helpers on their own: no etcd involved.
import { describe, expect, it } from 'vitest';
import { type Edit, type Entry, nest, Snapshot } from '../src/snapshot.js';
import { deepFreeze, sameValue } from '../src/values.js';

const entry = (value: string): Entry<string> => ({ value, rev: 1, raw: undefined });

describe('Snapshot', () => {
  it('matches a plain Map through thousands of random edits, folding its overlay as it grows', () => {
    let s = Snapshot.empty<string>();
    const model = new Map<string, string>();
    const history: { snap: Snapshot<string>; content: Map<string, string> }[] = [];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let rev = 1n; rev <= 3000n; rev++) {
      const edits: Edit<string>[] = [];
      const touched = new Set<string>();
      for (let i = 0; i < 1 + Math.floor(random() * 4); i++) {
        const key = `k${Math.floor(random() * 500)}`;
        if (touched.has(key)) continue;
        touched.add(key);
        const prev = s.has(key) ? entry(s.get(key)!) : null;
        if (prev && random() < 0.4) {
          edits.push({ key, next: null, prev });
          model.delete(key);
        } else {
          const value = `v${rev}`;
          edits.push({ key, next: entry(value), prev });
          model.set(key, value);
        }
      }
      s = Snapshot.derive(s, edits, rev);
      if (rev % 250n === 0n) history.push({ snap: s, content: new Map(model) });
      expect(s.size).toBe(model.size);
    }
    expect(new Map(s)).toEqual(model);
    expect([...s.keys()].sort()).toEqual([...model.keys()].sort());
    expect([...s.values()].sort()).toEqual([...model.values()].sort());
    for (const [k, v] of model) expect(s.get(k)).toBe(v);
    // Every earlier snapshot still holds exactly what it held.
    for (const h of history) expect(new Map(h.snap)).toEqual(h.content);
  });

  it('strips a view prefix and keeps a changed key in its place', () => {
    const base = new Map<string, Entry<string>>([
      ['a', entry('1')],
      ['b', entry('2')],
      ['c', entry('3')],
    ]);
    const s1 = Snapshot.of(base, 5n);
    const s2 = Snapshot.derive(
      s1,
      [
        { key: 'db/b', next: entry('2b'), prev: entry('2') },
        { key: 'db/a', next: null, prev: entry('1') },
        { key: 'db/d', next: entry('4'), prev: null },
      ],
      6n,
      3,
    );
    expect([...s2]).toEqual([
      ['b', '2b'],
      ['c', '3'],
      ['d', '4'],
    ]);
    expect(s2.revision).toBe(6n);
    const seen: string[] = [];
    s2.forEach((v, k, m) => {
      seen.push(`${k}=${v}:${m === s2}`);
    });
    expect(seen).toEqual(['b=2b:true', 'c=3:true', 'd=4:true']);
    expect(Object.prototype.toString.call(s2)).toBe('[object ConfigSnapshot]');
    expect(Object.isFrozen(s2)).toBe(true);
  });
});

describe('toObject', () => {
  it('nests keys at "/", keeps a value that is also a parent under "", and never touches prototypes', () => {
    const o = nest([
      ['a', 1],
      ['a/b', 2],
      ['x/y/z', 3],
      ['x/y', 4],
      ['trail/', 5],
      ['__proto__/polluted', true],
      ['json', { deep: 1 }],
      ['json/child', 6],
    ]);
    expect(o).toEqual({
      a: { '': 1, b: 2 },
      x: { y: { z: 3, '': 4 } },
      trail: { '': 5 },
      json: { '': { deep: 1 }, child: 6 },
      ['__proto__']: { polluted: true },
    });
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.isFrozen(o) && Object.isFrozen(o.x)).toBe(true);
  });
});

describe('values', () => {
  it('compares plain data deeply and everything else by identity', () => {
    expect(sameValue({ a: [1, { b: 'x' }] }, { a: [1, { b: 'x' }] })).toBe(true);
    expect(sameValue({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(sameValue([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(sameValue(Buffer.from('ab'), Buffer.from('ab'))).toBe(true);
    expect(sameValue(new Date(5), new Date(5))).toBe(true);
    expect(sameValue(Number.NaN, Number.NaN)).toBe(true);
    class Thing {}
    expect(sameValue(new Thing(), new Thing())).toBe(false);
  });

  it('freezes plain data all the way down and leaves class instances alone', () => {
    class Thing {
      n = 1;
    }
    const v = deepFreeze({ list: [{ x: 1 }], thing: new Thing() });
    expect(Object.isFrozen(v.list[0])).toBe(true);
    expect(Object.isFrozen(v.thing)).toBe(false);
  });
});
