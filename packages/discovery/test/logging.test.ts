import { Etcd } from '@etcdkit/core';
import { startTcpProxy } from '@etcdkit/testkit';
import { uniqueName, until, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { discover } from '../src/index.js';

const t = useEtcd();

describe('a discovery without an error listener', () => {
  it('sends the disconnect to the client’s logger, once per window', async () => {
    const proxy = await startTcpProxy(t.endpoints[0]!);
    const lines: Record<string, unknown>[] = [];
    const at = (obj: object) => void lines.push(obj as Record<string, unknown>);
    const etcd = new Etcd({
      endpoints: [proxy.endpoint],
      dialTimeoutMs: 300,
      logger: { debug: at, info: at, warn: at, error: at },
      logIntervalMs: 60_000,
    });
    const service = uniqueName('logged');
    const svc = await discover(etcd, service);
    try {
      proxy.refuse(true);
      proxy.cut();
      await until(() => svc.status === 'reconnecting', { what: 'the disconnect' });
      await until(() => lines.some((l) => l.condition === `discovery-error:${service}`), {
        what: 'the logged error',
      });
      proxy.refuse(false);
      await until(() => svc.status === 'live', { what: 'live again', timeoutMs: 30_000 });
      expect(lines.filter((l) => l.condition === `discovery-error:${service}`)).toHaveLength(1);
    } finally {
      await svc.close();
      await etcd.close();
      await proxy.close();
    }
  });
});
