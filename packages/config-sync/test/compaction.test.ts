import { Etcd } from '@etcdkit/core';
import { type EtcdServer, startEtcd, startTcpProxy, type TcpProxy } from '@etcdkit/testkit';
import { uniquePrefix, until } from '@etcdkit/testkit/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mirror, type ResyncEvent } from '../src/index.js';
import { rangeAt } from './config-model.js';

// An etcd of its own: the compaction below would end other files' watches.
let server: EtcdServer;
let direct: Etcd;
let proxy: TcpProxy;
let viaProxy: Etcd;

beforeAll(async () => {
  server = await startEtcd();
  direct = new Etcd({ endpoints: server.endpoints });
  proxy = await startTcpProxy(server.endpoints[0]!);
  viaProxy = new Etcd({ endpoints: [proxy.endpoint], dialTimeoutMs: 1000 });
});

afterAll(async () => {
  await viaProxy?.close();
  await proxy?.close();
  await direct?.close();
  await server?.close();
});

describe('a mirror resumed at the compaction revision (etcd-io/etcd#18089)', () => {
  it('lists again rather than keep a key deleted at the revision it resumes from', async () => {
    const p = uniquePrefix('compact-resume');
    const first = await direct.put(`${p}gone`, 'v');
    const cfg = await mirror(viaProxy, p);
    try {
      expect(cfg.get('gone')).toBe('v');
      expect(cfg.revision).toBe(first.revision);
      const resyncs: ResyncEvent[] = [];
      cfg.on('resync', (e) => resyncs.push(e));

      // Cut off, the key is deleted at D = the revision the mirror resumes from, and D is compacted.
      proxy.refuse(true);
      proxy.cut();
      await until(() => cfg.status === 'reconnecting', { what: 'the mirror to notice the cut' });
      const del = await direct.delete(`${p}gone`);
      expect(del.revision).toBe(cfg.revision + 1n);
      await direct.compact(del.revision, { physical: true });
      await direct.put(`${p}later`, 'x');
      proxy.refuse(false);

      await until(() => cfg.get('later') === 'x', { what: 'the later put' });
      expect(cfg.get('gone')).toBeUndefined();
      expect(Object.fromEntries(cfg.snapshot())).toEqual(Object.fromEntries(await rangeAt(direct, p)));
      expect(resyncs.map((e) => e.reason)).toEqual(['compacted']);
      expect(resyncs[0]!.deletes).toBe(1);
      await until(() => cfg.status === 'live', { what: 'live again' });
    } finally {
      await cfg.close();
    }
  });
});
