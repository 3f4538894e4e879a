import { AbortError, InvalidArgumentError } from '@etcdkit/core';
import { etcdctl } from '@etcdkit/testkit';
import { uniqueName as uniq, useEtcd } from '@etcdkit/testkit/vitest';
import { from, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type Discovery, discover, type Instance, type Registration, register } from '../src/index.js';
import { nextEvent, untilList } from './helpers.js';

const t = useEtcd();

const ids = (list: readonly Instance[]) => list.map((i) => i.id);

describe('register and discover', () => {
  it('20 instances register; discover sees all 20, then each one leaving', async () => {
    const service = uniq('twenty');
    const etcd = t.client();
    const regs: Registration[] = [];
    for (let i = 0; i < 20; i++)
      regs.push(await register(etcd, { service, address: `10.0.0.${i + 1}:5000`, metadata: { n: i } }));
    await using svc = await discover(t.client(), service);
    expect(svc.instances()).toHaveLength(20);
    expect(new Set(svc.instances().map((i) => i.address)).size).toBe(20);
    expect(svc.get('10.0.0.3:5000')).toEqual({
      id: '10.0.0.3:5000',
      address: '10.0.0.3:5000',
      metadata: { n: 2 },
      draining: false,
    });
    // The list is immutable.
    expect(Object.isFrozen(svc.instances())).toBe(true);
    expect(Object.isFrozen(svc.instances()[0])).toBe(true);
    const downs: string[] = [];
    svc.on('down', (i) => downs.push(i.id));
    await Promise.all(regs.slice(0, 5).map((r) => r.close()));
    await untilList(svc, (l) => l.length === 15, '15 instances');
    expect(downs.sort()).toEqual(
      regs
        .slice(0, 5)
        .map((r) => r.id)
        .sort(),
    );
    await Promise.all(regs.slice(5).map((r) => r.close()));
    await untilList(svc, (l) => l.length === 0, 'no instance');
  });

  it('sees instances that come later (up events, subscribe, async iteration)', async () => {
    const service = uniq('later');
    const etcd = t.client();
    await using svc = await discover(etcd, service);
    expect(svc.instances()).toEqual([]);
    expect(svc.pick()).toBeUndefined();
    expect(svc.url()).toBeUndefined();
    const seen: (readonly Instance[])[] = [];
    const sub = svc.subscribe((l) => seen.push(l));
    const up = nextEvent<[Instance]>(svc, 'up');
    const it = svc[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual([]);
    await using a = await register(etcd, { service, address: '127.0.0.1:7001' });
    expect((await up)[0].id).toBe('127.0.0.1:7001');
    const next = await it.next();
    expect(ids(next.value as readonly Instance[])).toEqual(['127.0.0.1:7001']);
    await it.return?.();
    expect(seen.map(ids)).toEqual([[], ['127.0.0.1:7001']]);
    sub.unsubscribe();
    expect(a.state).toBe('registered');
  });

  it('pick() goes round-robin over instances that are not draining; random stays among them', async () => {
    const service = uniq('pick');
    const etcd = t.client();
    const regs = await Promise.all(
      ['a', 'b', 'c'].map((id, i) => register(etcd, { service, id, address: `127.0.0.1:${7100 + i}` })),
    );
    await using svc = await discover(etcd, service);
    const rr = Array.from({ length: 6 }, () => svc.pick()!.id);
    expect(rr.slice(0, 3).sort()).toEqual(['a', 'b', 'c']);
    expect(rr.slice(3)).toEqual(rr.slice(0, 3));
    expect(svc.endpoints()).toEqual(['127.0.0.1:7100', '127.0.0.1:7101', '127.0.0.1:7102']);
    expect(svc.url('/v1/x?y=1')).toMatch(/^http:\/\/127\.0\.0\.1:710[012]\/v1\/x\?y=1$/);
    await regs[1]!.drain();
    await untilList(svc, (l) => l.find((i) => i.id === 'b')?.draining === true, 'b draining');
    const after = new Set(Array.from({ length: 10 }, () => svc.pick()!.id));
    expect([...after].sort()).toEqual(['a', 'c']);
    await using rnd = await discover(etcd, service, { strategy: 'random' });
    const picks = new Set(Array.from({ length: 200 }, () => rnd.pick()!.id));
    expect([...picks].sort()).toEqual(['a', 'c']);
    await Promise.all(regs.map((r) => r.close()));
  });

  it('drain() is seen before removal, and close() removes the instance at once', async () => {
    const service = uniq('drain');
    const etcd = t.client();
    const reg = await register(etcd, {
      service,
      address: '127.0.0.1:7200',
      metadata: { zone: 'z1' },
      ttl: 60,
    });
    await using svc = await discover(t.client(), service);
    const events: string[] = [];
    svc.on('draining', (i) => events.push(`draining ${i.id}`));
    svc.on('down', (i) => events.push(`down ${i.id}`));
    const seen: (readonly Instance[])[] = [];
    svc.subscribe((l) => seen.push(l));
    const regEvents: string[] = [];
    reg.on('draining', () => regEvents.push('draining'));
    reg.on('closed', () => regEvents.push('closed'));
    await reg.drain();
    expect(reg.draining).toBe(true);
    await untilList(svc, (l) => l[0]?.draining === true, 'the draining mark');
    expect(svc.instances()[0]).toEqual({
      id: reg.id,
      address: reg.address,
      metadata: { zone: 'z1' },
      draining: true,
    });
    expect(svc.pick()).toBeUndefined();
    // ttl is 60 s: removal within the deadline below can only come from the revoke.
    await reg.close();
    await untilList(svc, (l) => l.length === 0, 'removal', 10_000);
    expect(events).toEqual([`draining ${reg.id}`, `down ${reg.id}`]);
    expect(seen.map((l) => l.map((i) => i.draining))).toEqual([[false], [true], []]);
    expect(regEvents).toEqual(['draining', 'closed']);
    expect(reg.state).toBe('closed');
    expect(await etcd.get(reg.key)).toBeUndefined();
    await expect(reg.drain()).rejects.toMatchObject({ code: 'REGISTRATION_CLOSED' });
    await reg.close(); // twice is fine
  });

  it('works as an Observable (RxJS from) and completes on close()', async () => {
    const service = uniq('rx');
    const etcd = t.client();
    const svc = await discover(etcd, service);
    const lists = from(svc).pipe(take(2), toArray()).toPromise();
    const reg = await register(etcd, { service, address: '127.0.0.1:7300' });
    expect((await lists)!.map(ids)).toEqual([[], ['127.0.0.1:7300']]);
    let completed = false;
    svc.subscribe({ complete: () => (completed = true) });
    await svc.close();
    expect(completed).toBe(true);
    await reg.close();
  });

  it('keeps working in a namespace view', async () => {
    const service = uniq('ns');
    const root = t.client();
    const ns = root.namespace('tenant-a/');
    await using reg = await register(ns, { service, address: '127.0.0.1:7400' });
    await using svc = await discover(ns, service);
    expect(ids(svc.instances())).toEqual(['127.0.0.1:7400']);
    expect(await root.get(`tenant-a/${service}/127.0.0.1:7400`)).toBeDefined();
    expect(reg.key).toBe(`${service}/127.0.0.1:7400`);
  });
});

describe("etcd's Go naming/endpoints layout", () => {
  it('writes the bytes Go writes: key <service>/<id>, {"Op":0,"Addr":...,"Metadata":...}', async () => {
    const service = uniq('go/fmt');
    const etcd = t.client();
    const plain = await register(etcd, { service, address: '10.1.2.3:50051' });
    const withMeta = await register(etcd, {
      service,
      id: 'm1',
      address: '10.1.2.4:50051',
      metadata: { zone: 'eu<1>&', weight: 2, tags: ['a', 'b'], b: { y: 1, x: null } },
    });
    const out = await etcdctl(['get', '--prefix', `${service}/`], t.server);
    expect(out.stdout).toBe(
      [
        `${service}/10.1.2.3:50051`,
        '{"Op":0,"Addr":"10.1.2.3:50051","Metadata":null}',
        `${service}/m1`,
        // encoding/json: struct fields in order, map keys sorted, <>& escaped.
        '{"Op":0,"Addr":"10.1.2.4:50051","Metadata":{"b":{"x":null,"y":1},"tags":["a","b"],"weight":2,"zone":"eu\\u003c1\\u003e\\u0026"}}',
        '',
      ].join('\n'),
    );
    // Attached to the registration's lease, as Go's examples do with clientv3.WithLease.
    expect((await etcd.get(plain.key))!.lease).toBe(plain.lease);
    await plain.drain();
    expect((await etcd.get(plain.key))!.value.toString()).toBe(
      '{"Op":0,"Addr":"10.1.2.3:50051","Metadata":{"etcdkit.draining":true}}',
    );
    await Promise.all([plain.close(), withMeta.close()]);
  });

  it('discovers endpoints written in Go’s format by another client (etcdctl), and skips what is not one', async () => {
    const service = uniq('go/read');
    const etcd = t.client();
    await using svc = await discover(etcd, service);
    const invalid = nextEvent<[{ key: string; reason: string }]>(svc, 'invalid');
    // What Go's endpoints.Manager.AddEndpoint writes, and the older grpc naming.Update without Op.
    await etcdctl(['put', `${service}/e1`, '{"Op":0,"Addr":"1.2.3.4:80","Metadata":{"w":1}}'], t.server);
    await etcdctl(['put', `${service}/1.2.3.5`, '{"Addr":"1.2.3.5:80","Metadata":"..."}'], t.server);
    await etcdctl(['put', `${service}/junk`, 'not json'], t.server);
    const list = await untilList(svc, (l) => l.length === 2, 'two Go endpoints');
    expect(list).toEqual([
      { id: '1.2.3.5', address: '1.2.3.5:80', metadata: '...', draining: false },
      { id: 'e1', address: '1.2.3.4:80', metadata: { w: 1 }, draining: false },
    ]);
    expect((await invalid)[0].key).toBe('junk');
    // Go deletes an endpoint by deleting its key.
    await etcdctl(['del', `${service}/e1`], t.server);
    await untilList(svc, (l) => l.length === 1, 'the Go endpoint removed');
  });
});

describe('bad input', () => {
  it('validates every option at creation, naming it', async () => {
    const etcd = t.client();
    const bad = async (o: unknown) => {
      const err = await register(etcd, o as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      return (err as Error).message;
    };
    expect(await bad(undefined)).toMatch(/options/);
    expect(await bad({ address: 'a:1' })).toMatch(/service/);
    expect(await bad({ service: 'x/', address: 'a:1' })).toMatch(/service/);
    expect(await bad({ service: 'x' })).toMatch(/address/);
    expect(await bad({ service: 'x', address: 'a b:1' })).toMatch(/address/);
    expect(await bad({ service: 'x', address: 'http://a:1' })).toMatch(/give an id/);
    expect(await bad({ service: 'x', address: 'a:1', id: 'a/b' })).toMatch(/id/);
    expect(await bad({ service: 'x', address: 'a:1', ttl: 0 })).toMatch(/ttl/);
    expect(await bad({ service: 'x', address: 'a:1', ttl: 1.5 })).toMatch(/ttl/);
    expect(await bad({ service: 'x', address: 'a:1', ttl: 3_000_000 })).toMatch(/ttl/);
    expect(await bad({ service: 'x', address: 'a:1', metadata: 'str' })).toMatch(/metadata/);
    expect(await bad({ service: 'x', address: 'a:1', metadata: { n: Number.NaN } })).toMatch(/metadata/);
    expect(await bad({ service: 'x', address: 'a:1', metadata: { d: new Date() } })).toMatch(/metadata/);
    expect(await bad({ service: 'x', address: 'a:1', metadata: { big: 1n } })).toMatch(/metadata/);
    expect(await bad({ service: 'x', address: 'a:1', metadata: { 'etcdkit.draining': true } })).toMatch(
      /drain/,
    );
    expect(await bad({ service: 'x', address: 'a:1', signal: {} })).toMatch(/signal/);
    expect(await bad({ service: 'x', address: 'a:1', backoff: { capMs: -1 } })).toMatch(/backoff.capMs/);
    await expect(register({} as never, { service: 'x', address: 'a:1' })).rejects.toThrow(/Etcd client/);
    const d = (s: unknown, o?: unknown) => discover(etcd, s as string, o as never);
    await expect(d('')).rejects.toThrow(InvalidArgumentError);
    await expect(d('x', { strategy: 'fastest' })).rejects.toThrow(/strategy/);
    await expect(d('x', { scheme: 'ht tp' })).rejects.toThrow(/scheme/);
    await expect(d('x', { startTimeoutMs: -1 })).rejects.toThrow(/startTimeoutMs/);
    // Nothing was written by the failed calls.
    expect((await etcd.range({ prefix: 'x/', countOnly: true })).count).toBe(0);
  });

  it('an aborted signal fails register() with an AbortError and leaves no key', async () => {
    const service = uniq('abort');
    const etcd = t.client();
    const err = await register(etcd, { service, address: 'a:1', signal: AbortSignal.abort() }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(AbortError);
    expect((await etcd.range({ prefix: `${service}/`, countOnly: true })).count).toBe(0);
  });

  it('discovery ends its subscribers with an error when its client is closed; a registration says closed', async () => {
    const service = uniq('client-closed');
    const etcd = t.client();
    const reg = await register(etcd, { service, address: 'a:1' });
    const svc: Discovery = await discover(etcd, service);
    const closed = nextEvent<[Error | undefined]>(reg, 'closed');
    const failed = new Promise<unknown>((resolve) => svc.subscribe({ error: resolve }));
    await etcd.close();
    expect((await closed)[0]).toMatchObject({ code: 'CLOSED' });
    expect(await failed).toMatchObject({ code: 'CLOSED' });
    expect(reg.state).toBe('closed');
    await reg.close();
    await svc.close();
    const admin = t.client();
    expect((await admin.range({ prefix: `${service}/`, countOnly: true })).count).toBe(0);
  });
});
