import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { type ConfigMessage, DIAGNOSTICS_CHANNELS, Etcd } from '@etcdkit/core';
import { startTcpProxy } from '@etcdkit/testkit';
import { uniquePrefix, until, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { decoders, mirror } from '../src/index.js';

const fx = useEtcd();

describe('a mirror without listeners', () => {
  it('sends an error nobody listens to, and an invalid value, to the client’s logger (once per window)', async () => {
    const proxy = await startTcpProxy(fx.endpoints[0]!);
    const lines: { obj: Record<string, unknown>; msg?: string | undefined }[] = [];
    const at = (obj: object, msg?: string) => void lines.push({ obj: obj as Record<string, unknown>, msg });
    const etcd = new Etcd({
      endpoints: [proxy.endpoint],
      dialTimeoutMs: 300,
      logger: { debug: at, info: at, warn: at, error: at },
      logIntervalMs: 60_000,
    });
    const p = uniquePrefix('cfg-log');
    const cfg = await mirror(etcd, p, { decode: decoders.json });
    try {
      await fx.etcd.put(`${p}bad`, '{');
      await until(() => cfg.invalidKeys().has('bad'), { what: 'the invalid value' });
      expect(lines.filter((l) => l.obj.condition === `config-invalid:${p}:bad`)).toHaveLength(1);
      proxy.refuse(true);
      proxy.cut();
      await until(() => lines.some((l) => String(l.obj.condition).startsWith(`config-error:${p}:`)), {
        what: 'the disconnect to be logged',
      });
      expect(cfg.status).toBe('reconnecting');
      proxy.refuse(false);
      await until(() => cfg.status === 'live', { what: 'live again', timeoutMs: 30_000 });
      const counts = new Map<unknown, number>();
      for (const l of lines) counts.set(l.obj.condition, (counts.get(l.obj.condition) ?? 0) + 1);
      for (const [condition, n] of counts) expect({ condition, n }).toEqual({ condition, n: 1 });
    } finally {
      await cfg.close();
      await etcd.close();
      await proxy.close();
    }
  });

  it('publishes synced, applied, invalid and closed on etcdkit:config', async () => {
    const messages: ConfigMessage[] = [];
    const fn = (m: unknown) => messages.push(m as ConfigMessage);
    subscribe(DIAGNOSTICS_CHANNELS.config, fn);
    const p = uniquePrefix('cfg-diag');
    await fx.etcd.put(`${p}a`, '1');
    const cfg = await mirror(fx.etcd, p, { decode: decoders.json });
    try {
      await fx.etcd.put(`${p}b`, '{');
      const { revision } = await fx.etcd.put(`${p}a`, '2');
      await until(() => cfg.revision >= revision, { what: 'the put' });
      await cfg.close();
      const mine = messages.filter((m) => m.prefix === p);
      expect(mine.find((m) => m.type === 'synced')).toMatchObject({ keys: 1 });
      expect(mine.find((m) => m.type === 'invalid')).toMatchObject({ key: 'b' });
      expect(mine.find((m) => m.type === 'applied')).toMatchObject({ revision, changes: 1 });
      expect(mine[mine.length - 1]!.type).toBe('closed');
    } finally {
      unsubscribe(DIAGNOSTICS_CHANNELS.config, fn);
      await cfg.close();
    }
  });
});
