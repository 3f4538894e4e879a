import type { Etcd } from '@etcdkit/core';
import { startTcpProxy, type TcpProxy } from '@etcdkit/testkit';
import { uniquePrefix, until, useEtcd } from '@etcdkit/testkit/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Change, type MirrorStatus, mirror, type ResyncEvent } from '../src/index.js';
import { ChangeModel, rangeAt } from './config-model.js';

const t = useEtcd();
let direct: Etcd;
let proxy: TcpProxy;
let viaProxy: Etcd;

beforeAll(async () => {
  direct = t.etcd;
  proxy = await startTcpProxy(t.endpoints[0]!);
  t.defer(() => proxy.close());
  viaProxy = t.client({ endpoints: [proxy.endpoint], dialTimeoutMs: 1000 });
});

/** Cut the mirror's client off from etcd (existing connections dropped, new ones refused). */
function disconnect(): void {
  proxy.refuse(true);
  proxy.cut();
}

function reconnect(): void {
  proxy.refuse(false);
}

describe('outages', () => {
  it('resumes after a disconnect from the last applied revision, without listing again', async () => {
    const p = uniquePrefix('resume');
    await direct.put(`${p}a`, '1');
    const cfg = await mirror(viaProxy, p);
    try {
      const statuses: MirrorStatus[] = [];
      cfg.on('status', (s) => statuses.push(s));
      const resyncs: ResyncEvent[] = [];
      cfg.on('resync', (e) => resyncs.push(e));
      const model = new ChangeModel<string>(cfg.snapshot(), cfg.revision);
      const it = cfg.changes();

      disconnect();
      await until(() => cfg.status === 'reconnecting', { what: 'the mirror to notice' });
      const put = await direct.put(`${p}b`, '2');
      const del = await direct.delete(`${p}a`);
      reconnect();

      for (let i = 0; i < 2; i++) model.apply((await it.next()).value as Change<string>);
      expect(model.revision).toBe(del.revision);
      expect(Object.fromEntries(model.map)).toEqual({ b: '2' });
      await until(() => cfg.status === 'live', { what: 'live again' });
      expect(cfg.revision).toBe(del.revision);
      expect(put.revision).toBeLessThan(del.revision);
      expect(resyncs).toEqual([]);
      expect(statuses).toEqual(['reconnecting', 'live']);
      expect(cfg.lastError).toBeDefined();
    } finally {
      reconnect();
      await cfg.close();
    }
  });

  it('lists again after a compaction while disconnected and reports what it missed, deletes included', async () => {
    const p = uniquePrefix('compacted');
    await direct.put(`${p}keep`, 'k');
    await direct.put(`${p}gone`, 'g');
    await direct.put(`${p}changed`, 'c1');
    const cfg = await mirror(viaProxy, p);
    try {
      const statuses: MirrorStatus[] = [];
      cfg.on('status', (s) => statuses.push(s));
      const resyncs: ResyncEvent[] = [];
      cfg.on('resync', (e) => resyncs.push(e));
      const snaps: unknown[] = [];
      cfg.subscribe((s) => snaps.push(s));
      const it = cfg.changes();

      disconnect();
      await until(() => cfg.status === 'reconnecting', { what: 'the mirror to notice' });
      await direct.delete(`${p}gone`);
      await direct.put(`${p}changed`, 'c2');
      await direct.put(`${p}added`, 'a');
      // Overwrite and restore: a change the mirror cannot tell from none, so it reports none.
      await direct.put(`${p}keep`, 'tmp');
      const last = await direct.put(`${p}keep`, 'k');
      await direct.compact(last.revision, { physical: true });
      reconnect();

      const got: Change<string>[] = [];
      for (let i = 0; i < 3; i++) got.push((await it.next()).value as Change<string>);
      const byKey = Object.fromEntries(got.map((c) => [c.key, c]));
      expect(byKey.gone).toMatchObject({ type: 'delete', prev: 'g', value: undefined });
      expect(byKey.changed).toMatchObject({ type: 'put', value: 'c2', prev: 'c1' });
      expect(byKey.added).toMatchObject({ type: 'put', value: 'a', prev: undefined });
      // All missed changes land together, as one snapshot at the relist revision.
      expect(new Set(got.map((c) => c.revision)).size).toBe(1);
      expect(snaps).toHaveLength(2);
      await until(() => cfg.status === 'live', { what: 'live again' });
      expect(resyncs).toEqual([{ revision: got[0]!.revision, reason: 'compacted', puts: 2, deletes: 1 }]);
      // etcd confirms a resumed watch before it notices the compaction, so 'live' may flash in between.
      expect(statuses[0]).toBe('reconnecting');
      expect(statuses.slice(-2)).toEqual(['syncing', 'live']);
      expect(new Map(cfg.snapshot())).toEqual(await rangeAt(direct, p, cfg.revision));

      // And it goes on watching from there.
      await direct.put(`${p}after`, 'x');
      expect((await it.next()).value).toMatchObject({ type: 'put', key: 'after', value: 'x' });
    } finally {
      reconnect();
      await cfg.close();
    }
  });
});
