import {
  AbortError,
  ClientClosedError,
  Etcd,
  InvalidArgumentError,
  op,
  UnavailableError,
} from '@etcdkit/core';
import { uniquePrefix, until, useEtcd } from '@etcdkit/testkit/vitest';
import { filter, firstValueFrom, from, map, take, toArray } from 'rxjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  type Change,
  ChangesOverflowError,
  type ConfigSnapshot,
  decoders,
  type InvalidEvent,
  mirror,
  type StandardSchemaV1,
  SubscriberError,
} from '../src/index.js';
import { ChangeModel, rangeAt } from './config-model.js';

const t = useEtcd();
let etcd: Etcd;
const open: { close(): Promise<void> }[] = [];

beforeAll(() => {
  etcd = t.etcd;
});
t.defer(() => Promise.allSettled(open.map((m) => m.close())));

function track<M extends { close(): Promise<void> }>(m: M): M {
  open.push(m);
  return m;
}

async function next<T>(it: AsyncIterator<T>): Promise<T> {
  const r = await it.next();
  if (r.done) throw new Error('iterator ended');
  return r.value;
}

describe('loading', () => {
  it('lists the prefix in pages at one revision and resolves live', async () => {
    const p = uniquePrefix('load');
    for (let i = 0; i < 25; i++) await etcd.put(`${p}k${i}`, `v${i}`);
    await etcd.put(`${p.slice(0, -1)}x`, 'outside the prefix');
    const progress: [number, number][] = [];
    const cfg = track(
      await mirror(etcd, p, {
        pageSize: 7,
        onListProgress: (listed, total) => progress.push([listed, total]),
      }),
    );
    expect(progress).toEqual([
      [7, 25],
      [14, 25],
      [21, 25],
      [25, 25],
    ]);
    expect(cfg.status).toBe('live');
    expect(cfg.source).toBe('etcd');
    expect(cfg.snapshot().size).toBe(25);
    expect(cfg.get('k3')).toBe('v3');
    expect(cfg.get('missing')).toBeUndefined();
    expect(new Map(cfg.snapshot())).toEqual(await rangeAt(etcd, p, cfg.revision));
    expect(cfg.snapshot().revision).toBe(cfg.revision);
  });

  it('turns a/b/c keys into a nested object', async () => {
    const p = uniquePrefix('nest');
    await etcd
      .txn()
      .then(op.put(`${p}db/url`, 'pg://x'), op.put(`${p}db/pool/max`, '10'), op.put(`${p}name`, 'svc'))
      .commit();
    const cfg = track(await mirror(etcd, p));
    expect(cfg.toObject()).toEqual({ db: { url: 'pg://x', pool: { max: '10' } }, name: 'svc' });
    expect(cfg.toObject()).toBe(cfg.toObject());
    expect(Object.isFrozen(cfg.toObject())).toBe(true);
  });

  it('mirrors through a namespace view, with keys relative to both', async () => {
    const ns = uniquePrefix('ns');
    const view = etcd.namespace(ns);
    await etcd.put(`${ns}app/a`, '1');
    const cfg = track(await mirror(view, 'app/'));
    expect([...cfg.snapshot()]).toEqual([['a', '1']]);
    const it = cfg.changes();
    await view.put('app/b', '2');
    expect(await next(it)).toMatchObject({ type: 'put', key: 'b', value: '2' });
    // An empty prefix mirrors the whole namespace.
    const all = track(await mirror(view, ''));
    expect(new Map(all.snapshot())).toEqual(
      new Map([
        ['app/a', '1'],
        ['app/b', '2'],
      ]),
    );
  });
});

describe('updates', () => {
  it('sees a multi-key txn as one snapshot and one revision of changes', async () => {
    const p = uniquePrefix('txn');
    await etcd.put(`${p}old`, 'o');
    const cfg = track(await mirror(etcd, p));
    const snaps: ConfigSnapshot<string>[] = [];
    cfg.subscribe((s) => snaps.push(s));
    const it = cfg.changes();
    const r = await etcd
      .txn()
      .then(op.put(`${p}a`, '1'), op.put(`${p}b`, '2'), op.put(`${p}c`, '3'), op.delete(`${p}old`))
      .commit();
    const got = [await next(it), await next(it), await next(it), await next(it)];
    expect(got.map((c) => c.revision)).toEqual([r.revision, r.revision, r.revision, r.revision]);
    expect(got.map((c) => `${c.type} ${c.key}`).sort()).toEqual(['delete old', 'put a', 'put b', 'put c']);
    expect(snaps).toHaveLength(2);
    expect(snaps[0]!.get('old')).toBe('o');
    expect(new Map(snaps[1]!)).toEqual(
      new Map([
        ['a', '1'],
        ['b', '2'],
        ['c', '3'],
      ]),
    );
    expect(snaps[1]!.revision).toBe(r.revision);
    expect(cfg.revision).toBe(r.revision);
  });

  it('gives subscribers the current snapshot, then one per revision, each equal to etcd at its revision', async () => {
    const p = uniquePrefix('per-rev');
    const cfg = track(await mirror(etcd, p));
    const snaps: ConfigSnapshot<string>[] = [];
    const sub = cfg.subscribe({ next: (s) => snaps.push(s) });
    expect(snaps).toHaveLength(1);
    let last = 0n;
    for (let i = 0; i < 5; i++) last = (await etcd.put(`${p}k${i % 2}`, `v${i}`)).revision;
    await etcd.delete(`${p}k0`);
    await until(() => snaps.length === 7, { what: 'seven snapshots' });
    for (const s of snaps.slice(1)) expect(new Map(s)).toEqual(await rangeAt(etcd, p, s.revision));
    expect(snaps[5]!.revision).toBe(last);
    sub();
    expect(sub.closed).toBe(true);
    await etcd.put(`${p}k9`, 'after');
    await until(() => cfg.get('k9') === 'after', { what: 'the put' });
    expect(snaps).toHaveLength(7);
  });

  it('keeps snapshot identity until content changes; old snapshots never change', async () => {
    const p = uniquePrefix('identity');
    await etcd.put(`${p}a`, '{"n":1,"list":[1,2]}');
    const cfg = track(await mirror(etcd, p, { decode: decoders.json }));
    const s1 = cfg.snapshot();
    expect(cfg.snapshot()).toBe(s1);
    const value = s1.get('a') as { n: number; list: number[] };
    expect(Object.isFrozen(value) && Object.isFrozen(value.list)).toBe(true);
    expect(() => {
      value.list.push(3);
    }).toThrow(TypeError);
    expect(Object.isFrozen(s1)).toBe(true);
    expect((s1 as unknown as { set?: unknown }).set).toBeUndefined();

    const changes: Change<unknown>[] = [];
    const it = cfg.changes();
    // Same content (other formatting) and writes elsewhere: no new snapshot, no change.
    await etcd.put(`${p}a`, '{ "list": [1, 2], "n": 1 }');
    await etcd.put(`${p.slice(0, -1)}-other`, 'x');
    const r = await etcd.put(`${p}b`, '2');
    const c = await next(it);
    changes.push(c);
    expect(c).toMatchObject({ type: 'put', key: 'b', value: 2, revision: r.revision });
    const s2 = cfg.snapshot();
    expect(s2).not.toBe(s1);
    expect(s1.has('b')).toBe(false);
    expect(s1.size).toBe(1);
    expect(s2.get('a')).toBe(value);
  });

  it('reports puts and deletes with prev and revision; replay, return() and abort', async () => {
    const p = uniquePrefix('changes');
    await etcd.put(`${p}a`, '1');
    const cfg = track(await mirror(etcd, p));
    const replayed = cfg.changes({ replay: true });
    expect(await next(replayed)).toEqual({
      type: 'put',
      key: 'a',
      value: '1',
      prev: undefined,
      revision: cfg.revision,
    });
    const plain = cfg.changes();
    const ac = new AbortController();
    const aborted = cfg.changes({ signal: ac.signal });
    const r1 = await etcd.put(`${p}a`, '2');
    const r2 = await etcd.delete(`${p}a`);
    const expected = [
      { type: 'put', key: 'a', value: '2', prev: '1', revision: r1.revision },
      { type: 'delete', key: 'a', value: undefined, prev: '2', revision: r2.revision },
    ];
    expect([await next(plain), await next(plain)]).toEqual(expected);
    expect([await next(replayed), await next(replayed)]).toEqual(expected);
    expect(await replayed.return!()).toEqual({ value: undefined, done: true });
    expect(await replayed.next()).toEqual({ value: undefined, done: true });
    ac.abort();
    // Buffered changes are delivered, then the abort.
    expect(await next(aborted)).toEqual(expected[0]);
    expect(await next(aborted)).toEqual(expected[1]);
    await expect(aborted.next()).rejects.toBeInstanceOf(AbortError);
  });

  it('ends a consumer that falls too far behind, after what it buffered', async () => {
    const p = uniquePrefix('overflow');
    const cfg = track(await mirror(etcd, p));
    const it = cfg.changes({ maxBuffered: 2 });
    for (let i = 0; i < 4; i++) await etcd.put(`${p}k`, `v${i}`);
    await until(() => cfg.get('k') === 'v3', { what: 'the puts' });
    expect((await next(it)).value).toBe('v0');
    expect((await next(it)).value).toBe('v1');
    await expect(it.next()).rejects.toBeInstanceOf(ChangesOverflowError);
  });

  it('offers key() and select() views with the same interface', async () => {
    const p = uniquePrefix('views');
    await etcd
      .txn()
      .then(op.put(`${p}db/url`, 'u1'), op.put(`${p}db/pool/max`, '5'), op.put(`${p}web/port`, '80'))
      .commit();
    const cfg = track(await mirror(etcd, p));
    const db = cfg.select('db/');
    expect(cfg.select('db/')).toBe(db);
    expect(db.select('pool/')).toBe(cfg.select('db/pool/'));
    expect(cfg.select('')).toBe(cfg);
    expect(db.get('url')).toBe('u1');
    expect(db.toObject()).toEqual({ url: 'u1', pool: { max: '5' } });
    const url = db.key('url');
    expect(db.key('url')).toBe(url);
    expect(url.get()).toBe('u1');

    const dbSnaps: ConfigSnapshot<string>[] = [];
    db.subscribe((s) => dbSnaps.push(s));
    const urlValues: (string | undefined)[] = [];
    from(url).subscribe((v) => urlValues.push(v));
    const dbChanges = db.changes();
    const urlChanges = url.changes();
    const invalid: InvalidEvent[] = [];
    db.on('invalid', (e) => invalid.push(e));

    const dbBefore = db.snapshot();
    await etcd.put(`${p}web/port`, '81');
    await until(() => cfg.get('web/port') === '81', { what: 'web/port' });
    expect(db.snapshot()).toBe(dbBefore);
    const r = await etcd.put(`${p}db/url`, 'u2');
    expect(await next(dbChanges)).toEqual({
      type: 'put',
      key: 'url',
      value: 'u2',
      prev: 'u1',
      revision: r.revision,
    });
    expect(await next(urlChanges)).toEqual({
      type: 'put',
      key: 'url',
      value: 'u2',
      prev: 'u1',
      revision: r.revision,
    });
    await etcd.delete(`${p}db/url`);
    expect(await next(urlChanges)).toMatchObject({ type: 'delete', key: 'url', prev: 'u2' });
    expect(urlValues).toEqual(['u1', 'u2', undefined]);
    expect(dbSnaps.map((s) => s.get('url'))).toEqual(['u1', 'u2', undefined]);
    expect(db.snapshot().get('pool/max')).toBe('5');
    expect(db.revision).toBe(cfg.revision);
    expect(db.status).toBe('live');
    expect(invalid).toEqual([]);
  });

  it('debounces bursts for subscribers that ask for it', async () => {
    const p = uniquePrefix('debounce');
    const cfg = track(await mirror(etcd, p));
    const eager: ConfigSnapshot<string>[] = [];
    const calm: ConfigSnapshot<string>[] = [];
    cfg.subscribe((s) => eager.push(s));
    cfg.subscribe((s) => calm.push(s), { debounce: { quietMs: 1500, maxDelayMs: 60_000 } });
    for (let i = 0; i < 10; i++) await etcd.put(`${p}k`, `v${i}`);
    await until(() => eager.length === 11, { what: 'every snapshot for the eager subscriber' });
    await until(() => calm.at(-1) === eager[10], { what: 'the debounced delivery of the final snapshot' });
    // The current snapshot at once, then the burst coalesced (into one delivery unless a put stalled for 1.5 s).
    expect(calm[0]!.size).toBe(0);
    expect(calm.length).toBeLessThan(eager.length);
    expect(calm.at(-1)!.get('k')).toBe('v9');
  });

  it('drops what a debounced subscriber holds when it unsubscribes; reports what a held delivery throws', async () => {
    const p = uniquePrefix('debounce-drop');
    const cfg = await mirror(etcd, p);
    const errors: Error[] = [];
    cfg.on('error', (e) => errors.push(e));
    const held: unknown[] = [];
    let closes = 0;
    const sub = cfg.subscribe(
      { next: (s) => held.push(s.get('k')), complete: () => held.push('complete') },
      { debounce: { quietMs: 600_000 }, onClose: () => closes++ },
    );
    const boom = new Error('held boom');
    cfg.subscribe(
      (s) => {
        if (s.size) throw boom;
      },
      { debounce: { quietMs: 10, maxDelayMs: 10 } },
    );
    await etcd.put(`${p}k`, 'v');
    await until(() => cfg.get('k') === 'v', { what: 'the put' });
    sub.unsubscribe();
    await until(() => errors.length === 1, { what: 'the report of the held delivery' });
    expect(errors[0]).toBeInstanceOf(SubscriberError);
    expect(errors[0]!.cause).toBe(boom);
    await cfg.close();
    expect(held).toEqual([undefined]);
    expect(closes).toBe(1);
  });

  it('bounds a debounce by its maximum delay, and flushes what it holds on close', async () => {
    const p = uniquePrefix('debounce-max');
    const cfg = await mirror(etcd, p);
    const capped: (string | undefined)[] = [];
    cfg.subscribe((s) => capped.push(s.get('k')), { debounce: { quietMs: 600_000, maxDelayMs: 200 } });
    const held: unknown[] = [];
    cfg.subscribe(
      { next: (s) => held.push(s.get('k')), complete: () => held.push('complete') },
      { debounce: { quietMs: 600_000 } },
    );
    await etcd.put(`${p}k`, 'v');
    await until(() => capped.length === 2, { what: 'the delivery at the maximum delay' });
    expect(capped).toEqual([undefined, 'v']);
    expect(held).toEqual([undefined]);
    await cfg.close();
    expect(held).toEqual([undefined, 'v', 'complete']);
  });

  it('iterates with for await: the newest snapshot each time round, ending on break, abort or close', async () => {
    const p = uniquePrefix('iterate');
    const cfg = await mirror(etcd, p);
    const seen: (string | undefined)[] = [];
    const loop = (async () => {
      for await (const s of cfg) {
        seen.push(s.get('k'));
        if (s.get('k') === 'last') break;
      }
    })();
    await until(() => seen.length === 1, { what: 'the current snapshot' });
    await etcd.put(`${p}k`, 'a');
    await until(() => seen.includes('a'), { what: 'the first put' });
    await etcd.put(`${p}k`, 'last');
    await loop;
    expect(seen).toEqual([undefined, 'a', 'last']);

    const ac = new AbortController();
    const values = cfg.key('k').iterate({ signal: ac.signal });
    expect(await values.next()).toEqual({ value: 'last', done: false });
    ac.abort();
    await expect(values.next()).rejects.toBeInstanceOf(AbortError);

    const snapshots = cfg[Symbol.asyncIterator]();
    expect((await snapshots.next()).value).toBe(cfg.snapshot());
    const pending = snapshots.next();
    await cfg.close();
    expect(await pending).toEqual({ value: undefined, done: true });
  });

  it('works with RxJS from()', async () => {
    const p = uniquePrefix('rxjs');
    const cfg = track(await mirror(etcd, p));
    const values = firstValueFrom(
      from(cfg).pipe(
        map((s) => s.get('feature')),
        filter((v) => v !== undefined),
        take(3),
        toArray(),
      ),
    );
    for (const v of ['on', 'off', 'on']) await etcd.put(`${p}feature`, v);
    expect(await values).toEqual(['on', 'off', 'on']);
    const completed = new Promise<boolean>((resolve) =>
      from(cfg).subscribe({ complete: () => resolve(true) }),
    );
    await cfg.close();
    expect(await completed).toBe(true);
  });

  it('is an interop Observable under Symbol.observable and @@observable', async () => {
    const p = uniquePrefix('symbol');
    const cfg = track(await mirror(etcd, p));
    expect(typeof Symbol.observable).toBe('symbol');
    type Interop = { subscribe(f: (s: ReadonlyMap<string, string>) => void): { unsubscribe(): void } };
    const byKey = cfg as unknown as Record<symbol, () => Interop>;
    expect(byKey[Symbol.observable]!.call(cfg)).toBe(cfg);
    expect(cfg['@@observable']()).toBe(cfg);
    const seen: number[] = [];
    const sub = byKey[Symbol.observable]!;
    const s = sub.call(cfg).subscribe((snap) => seen.push(snap.size));
    await etcd.put(`${p}a`, '1');
    await vi.waitFor(() => expect(seen).toEqual([0, 1]));
    s.unsubscribe();
  });

  it('keeps other subscribers going when one throws, and reports it', async () => {
    const p = uniquePrefix('throwing');
    const cfg = track(await mirror(etcd, p));
    const errors: Error[] = [];
    cfg.on('error', (e) => errors.push(e));
    const seen: string[] = [];
    cfg.subscribe((s) => {
      if (s.size) throw new Error('boom');
    });
    cfg.subscribe((s) => seen.push(s.get('k') ?? '-'));
    await etcd.put(`${p}k`, 'v');
    await until(() => seen.length === 2, { what: 'the second subscriber' });
    expect(errors[0]).toBeInstanceOf(SubscriberError);
    expect((errors[0]!.cause as Error).message).toBe('boom');
    expect(cfg.lastError).toBeUndefined();
  });
});

describe('values', () => {
  it('keeps the old value and reports invalid when a value does not decode', async () => {
    const p = uniquePrefix('bad-json');
    await etcd.put(`${p}svc`, '{"port":80}');
    const cfg = track(await mirror(etcd, p, { decode: decoders.json }));
    const invalid: InvalidEvent[] = [];
    cfg.on('invalid', (e) => invalid.push(e));
    const before = cfg.snapshot();
    const bad = await etcd.put(`${p}svc`, '{"port":');
    await until(() => invalid.length === 1, { what: 'the invalid event' });
    expect(invalid[0]).toMatchObject({ key: 'svc', revision: bad.revision });
    expect(invalid[0]!.reason).toMatch(/could not decode.*JSON/);
    expect(cfg.get('svc')).toEqual({ port: 80 });
    expect(cfg.snapshot()).toBe(before);
    expect(cfg.revision).toBe(bad.revision);
    expect([...cfg.invalidKeys().keys()]).toEqual(['svc']);
    expect(cfg.status).toBe('live');
    // A good value afterwards is taken; the key is no longer invalid.
    await etcd.put(`${p}svc`, '{"port":81}');
    await until(() => (cfg.get('svc') as { port: number }).port === 81, { what: 'the good value' });
    expect(cfg.invalidKeys().size).toBe(0);
    // Deleting a key whose newest value was bad deletes its last good value.
    await etcd.put(`${p}svc`, 'nope');
    await until(() => invalid.length === 2, { what: 'the second invalid event' });
    await etcd.delete(`${p}svc`);
    await until(() => !cfg.has('svc'), { what: 'the delete' });
    expect(cfg.invalidKeys().size).toBe(0);
  });

  it('validates with a Standard Schema validator (zod) and types the values', async () => {
    const p = uniquePrefix('zod');
    const Service = z.object({ host: z.string(), port: z.number().int().positive() });
    await etcd.put(`${p}a`, '{"host":"h","port":1}');
    await etcd.put(`${p}b`, '{"host":"h","port":-1}');
    const cfg = track(await mirror(etcd, p, { decode: decoders.json, schema: Service }));
    const port: number | undefined = cfg.get('a')?.port;
    expect(port).toBe(1);
    expect(cfg.has('b')).toBe(false);
    // Invalid at start: listed now, and emitted right after mirror() resolved.
    expect(cfg.invalidKeys().get('b')?.reason).toMatch(/port/);
    const invalid: InvalidEvent[] = [];
    cfg.on('invalid', (e) => invalid.push(e));
    await until(() => invalid.length === 1, { what: 'the deferred invalid event' });
    expect(invalid[0]!.issues?.[0]?.path).toEqual(['port']);
    await etcd.put(`${p}a`, '{"host":"h2","port":"80"}');
    await until(() => invalid.length === 2, { what: 'the invalid event' });
    expect(cfg.get('a')).toEqual({ host: 'h', port: 1 });
  });

  it('awaits asynchronous validators without reordering revisions', async () => {
    const p = uniquePrefix('async-schema');
    const slowUpper: StandardSchemaV1<unknown, string> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: async (v) => {
          await new Promise((r) => setTimeout(r, typeof v === 'string' && v.startsWith('slow') ? 50 : 1));
          return typeof v === 'string' && v !== 'reject'
            ? { value: v.toUpperCase() }
            : { issues: [{ message: 'no' }] };
        },
      },
    };
    const cfg = track(await mirror(etcd, p, { schema: slowUpper }));
    const model = new ChangeModel<string>([], cfg.revision);
    const it = cfg.changes();
    await etcd.put(`${p}k`, 'slow-1');
    await etcd.put(`${p}k`, 'fast-2');
    await etcd.put(`${p}k`, 'reject');
    await etcd.put(`${p}j`, 'slow-3');
    for (let i = 0; i < 3; i++) model.apply(await next(it));
    expect(Object.fromEntries(model.map)).toEqual({ k: 'FAST-2', j: 'SLOW-3' });
    expect(cfg.get('k')).toBe('FAST-2');
  });

  it('decodes YAML with the parser the application brings', async () => {
    const p = uniquePrefix('yaml');
    await etcd.put(`${p}svc`, 'host: h\nports: [1, 2]\n');
    const cfg = track(await mirror(etcd, p, { decode: decoders.yaml(parseYaml) }));
    expect(cfg.get('svc')).toEqual({ host: 'h', ports: [1, 2] });
    expect(() => decoders.yaml(undefined as never)).toThrow(InvalidArgumentError);
  });

  it('reports a key that is not UTF-8 as invalid and leaves it out', async () => {
    const p = uniquePrefix('binary-key');
    const cfg = track(await mirror(etcd, p));
    const invalid: InvalidEvent[] = [];
    cfg.on('invalid', (e) => invalid.push(e));
    await etcd.put(Buffer.concat([Buffer.from(p), Buffer.from([0xff, 0xfe])]), 'x');
    await until(() => invalid.length === 1, { what: 'the invalid event' });
    expect(invalid[0]!.reason).toMatch(/not valid UTF-8 \(hex fffe\)/);
    expect(cfg.snapshot().size).toBe(0);
  });
});

describe('lifecycle and failures', () => {
  it('close() completes subscribers and ends changes()', async () => {
    const p = uniquePrefix('close');
    const cfg = await mirror(etcd, p);
    let completed = false;
    cfg.subscribe({ complete: () => (completed = true) });
    const it = cfg.changes();
    const pending = it.next();
    await cfg.close();
    expect(completed).toBe(true);
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(cfg.status).toBe('closed');
    // Late subscribers get the last snapshot, then complete.
    const late: unknown[] = [];
    cfg.subscribe({ next: (s) => late.push(s), complete: () => late.push('complete') });
    expect(late).toEqual([cfg.snapshot(), 'complete']);
    expect(await cfg.changes().next()).toEqual({ value: undefined, done: true });
    await cfg.close();
  });

  it('ends with an error to subscribers when its client is closed', async () => {
    const p = uniquePrefix('client-closed');
    const own = new Etcd({ endpoints: t.endpoints });
    const cfg = await mirror(own, p);
    const errors: unknown[] = [];
    cfg.subscribe({ error: (e) => errors.push(e) });
    const it = cfg.changes();
    await own.close();
    await until(() => cfg.status === 'closed', { what: 'the mirror to close' });
    expect(errors[0]).toBeInstanceOf(ClientClosedError);
    expect(cfg.lastError).toBeInstanceOf(ClientClosedError);
    await expect(it.next()).rejects.toBeInstanceOf(ClientClosedError);
    await cfg.close();
  });

  it('fails fast when etcd is unreachable and no fallback is given', async () => {
    const down = new Etcd({ endpoints: ['127.0.0.1:1'], dialTimeoutMs: 300 });
    try {
      await expect(mirror(down, 'app/')).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      await down.close();
    }
  });

  it('starts stale from initial defaults when etcd is unreachable', async () => {
    const down = new Etcd({ endpoints: ['127.0.0.1:1'], dialTimeoutMs: 300 });
    try {
      const cfg = await mirror(down, 'app/', { initial: { 'db/url': 'pg://default' } });
      expect(cfg.status).toBe('stale');
      expect(cfg.source).toBe('initial');
      expect(cfg.lastError).toBeInstanceOf(UnavailableError);
      expect(cfg.toObject()).toEqual({ db: { url: 'pg://default' } });
      await cfg.close();
      expect(cfg.status).toBe('closed');
    } finally {
      await down.close();
    }
  });

  it('stops starting when its signal aborts', async () => {
    const down = new Etcd({ endpoints: ['127.0.0.1:1'], dialTimeoutMs: 30_000 });
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      await expect(mirror(down, 'app/', { signal: ac.signal, initial: {} })).rejects.toBeInstanceOf(
        AbortError,
      );
    } finally {
      await down.close();
    }
  });

  it('refuses bad input with InvalidArgumentError', async () => {
    const bad = [
      () => mirror(undefined as never, 'p/'),
      () => mirror(etcd, 42 as never),
      () => mirror(etcd, 'p/', { pageSize: 0 }),
      () => mirror(etcd, 'p/', { decode: 'json' as never }),
      () => mirror(etcd, 'p/', { schema: {} as never }),
      () => mirror(etcd, 'p/', { startTimeoutMs: -1 }),
      () => mirror(etcd, 'p/', { lastKnownGoodFile: '' }),
      () => mirror(etcd, 'p/', { onListProgress: 1 as never }),
    ];
    for (const f of bad) await expect(f()).rejects.toBeInstanceOf(InvalidArgumentError);
    const cfg = track(await mirror(etcd, uniquePrefix('bad-input')));
    expect(() => cfg.subscribe(() => {}, { debounce: { quietMs: -1 } })).toThrow(InvalidArgumentError);
    expect(() => cfg.subscribe(() => {}, { debounce: { quietMs: 10, maxDelayMs: Number.NaN } })).toThrow(
      InvalidArgumentError,
    );
    expect(() => cfg.subscribe(42 as never)).toThrow(InvalidArgumentError);
    expect(() => cfg.changes({ maxBuffered: 0 })).toThrow(InvalidArgumentError);
    expect(() => cfg.select(1 as never)).toThrow(InvalidArgumentError);
    expect(() => cfg.key('')).toThrow(InvalidArgumentError);
  });
});
