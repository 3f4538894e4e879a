import { decoders, mirror } from '@etcdkit/config-sync';
import { Etcd } from '@etcdkit/core';
import { runForLeader } from '@etcdkit/election';
import { LockReleasedError, Mutex } from '@etcdkit/lock';
import { startTcpProxy } from '@etcdkit/testkit';
import { spawnTs, uniqueName, uniquePrefix, until, useEtcd } from '@etcdkit/testkit/vitest';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { instrument, METRICS } from '../src/index.js';
import { telemetry } from './telemetry.js';

// An etcd of its own: the compaction below would end other files' watches.
const fx = useEtcd();

describe('instrument()', () => {
  it('records rpc.client.duration and a CLIENT span per unary call, after the RPC conventions', async () => {
    const t = telemetry();
    try {
      const key = uniqueName('rpc');
      await fx.etcd.put(key, 'v');
      await fx.etcd.get(key);
      const m = await t.collect();
      const put = { 'rpc.system': 'grpc', 'rpc.service': 'etcdserverpb.KV', 'rpc.method': 'Put' };
      expect(t.count(m, METRICS.rpcDuration, put)).toBe(1);
      expect(t.count(m, METRICS.rpcDuration, { 'rpc.method': 'Range' })).toBe(1);
      expect(m.get('rpc.client.duration')?.descriptor.unit).toBe('ms');
      const span = t.spans('etcdserverpb.KV/Put')[0]!;
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.attributes).toMatchObject({
        ...put,
        'server.address': '127.0.0.1',
        'server.port': Number(fx.endpoints[0]!.split(':').pop()),
      });
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
    } finally {
      await t.shutdown();
    }
  });

  it('a failed call: error.type on the metric, an ERROR span with the exception', async () => {
    const t = telemetry();
    try {
      // A compact past the current revision fails with etcd's "future revision" error.
      const { revision } = await fx.etcd.put(uniqueName('future'), 'v');
      await expect(fx.etcd.compact(revision + 1000n)).rejects.toThrow();
      const m = await t.collect();
      expect(
        t.count(m, METRICS.rpcDuration, { 'rpc.method': 'Compact', 'error.type': 'FUTURE_REVISION' }),
      ).toBe(1);
      const span = t.spans('etcdserverpb.KV/Compact')[0]!;
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.events.some((e) => e.name === 'exception')).toBe(true);
    } finally {
      await t.shutdown();
    }
  });

  it('a lock wait, hold and loss: wait and hold histograms, the lost counter, acquire spans', async () => {
    const t = telemetry();
    const name = uniqueName('lock');
    const s1 = await fx.session(10);
    const s2 = await fx.session(10);
    try {
      const a = await new Mutex(s1, name).lock();
      const b = new Mutex(s2, name);
      const waiting = b.lock();
      await until(async () => (await Mutex.waiters(fx.etcd, name)).length === 1, { what: 'b to queue' });
      let m = await t.collect();
      expect(t.value(m, METRICS.locksHeld, { 'etcdkit.lock.name': name })).toBe(1);
      await a.unlock();
      await waiting;

      // Someone deletes b's key: ownership is followed while instrumented, so the loss shows at once.
      await fx.etcd.delete(b.key);
      await until(
        async () => t.value(await t.collect(), METRICS.lockLost, { 'etcdkit.lock.name': name }) === 1,
        {
          what: 'the loss to be counted',
        },
      );
      expect(b.signal.reason).toBeInstanceOf(LockReleasedError);
      await expect(b.unlock()).rejects.toBeInstanceOf(LockReleasedError);

      m = await t.collect();
      const lock = { 'etcdkit.lock.name': name, 'etcdkit.lock.kind': 'mutex' };
      expect(t.count(m, METRICS.lockWait, { ...lock, 'etcdkit.lock.outcome': 'acquired' })).toBe(2);
      expect(t.count(m, METRICS.lockHold, { ...lock, 'etcdkit.lock.outcome': 'released' })).toBe(1);
      expect(t.count(m, METRICS.lockHold, { ...lock, 'etcdkit.lock.outcome': 'lost' })).toBe(1);
      expect(t.value(m, METRICS.lockLost, { ...lock, 'error.type': 'LOCK_RELEASED' })).toBe(1);
      expect(t.value(m, METRICS.locksHeld, lock)).toBe(0);

      const spans = t.spans('etcdkit.lock.acquire').filter((s) => s.attributes['etcdkit.lock.name'] === name);
      expect(spans).toHaveLength(2);
      const tokens = spans.map((s) => BigInt(s.attributes['etcdkit.lock.fencing_token'] as string));
      expect(tokens[1]! > tokens[0]!).toBe(true);
    } finally {
      await t.shutdown();
      await s1.close();
      await s2.close();
    }
  });

  it('a timed-out lock wait is a failed wait and an ERROR span', async () => {
    const t = telemetry();
    const name = uniqueName('lock-timeout');
    const s1 = await fx.session(10);
    const s2 = await fx.session(10);
    try {
      await new Mutex(s1, name).lock();
      await expect(new Mutex(s2, name).lock({ timeoutMs: 200 })).rejects.toThrow(/200 ms/);
      const m = await t.collect();
      expect(
        t.count(m, METRICS.lockWait, { 'etcdkit.lock.name': name, 'etcdkit.lock.outcome': 'failed' }),
      ).toBe(1);
      const failed = t
        .spans('etcdkit.lock.acquire')
        .find((s) => s.attributes['etcdkit.lock.name'] === name && s.status.code === SpanStatusCode.ERROR);
      expect(failed?.attributes['error.type']).toBe('DEADLINE_EXCEEDED');
    } finally {
      await t.shutdown();
      await s1.close();
      await s2.close();
    }
  });

  it('a session revoked by someone else: etcdkit.session.lost, live sessions back down', async () => {
    const t = telemetry();
    try {
      const s = await fx.session(3);
      let m = await t.collect();
      const live = t.value(m, METRICS.sessionsLive);
      expect(live).toBeGreaterThanOrEqual(1);
      await fx.etcd.lease.revoke(s.lease);
      await s.closed;
      m = await t.collect();
      expect(t.value(m, 'etcdkit.session.lost')).toBe(1);
      expect(t.value(m, METRICS.sessionsLive)).toBe(live - 1);
    } finally {
      await t.shutdown();
    }
  });

  it('a leader change after the leader process is SIGKILLed: leader changes, campaign wait, leader gauge', async () => {
    const t = telemetry();
    const name = uniqueName('election');
    // The election package's candidate process (one fixture, not a copy per package).
    const child = spawnTs(new URL('../../election/test/fixtures/leader-child.ts', import.meta.url), [
      fx.endpoints[0]!,
      name,
      'child',
      '2',
    ]);
    await child.waitForLine(/^elected /, { what: 'the child to lead' });
    const runner = runForLeader({
      etcd: fx.etcd,
      name,
      value: 'parent',
      ttl: 5,
      onLeading: (signal) => new Promise((resolve) => signal.addEventListener('abort', resolve)),
      onError: () => {},
    });
    try {
      await until(() => runner.leader?.value.toString() === 'child', {
        what: 'the runner to see the child lead',
      });
      await child.kill('SIGKILL');
      await until(() => runner.leading, { what: 'the runner to take over', timeoutMs: 30_000 });
      const election = { 'etcdkit.election.name': name };
      await until(async () => t.value(await t.collect(), METRICS.leaderChanges, election) >= 2, {
        what: 'the change to the runner to be counted',
      });
      const m = await t.collect();
      expect(
        t.value(m, 'etcdkit.election.leader.changes', { ...election, 'etcdkit.election.has_leader': true }),
      ).toBe(2);
      expect(t.count(m, METRICS.campaignWait, { ...election, 'etcdkit.election.outcome': 'elected' })).toBe(
        1,
      );
      expect(t.value(m, METRICS.leader, election)).toBe(1);
      const span = t
        .spans('etcdkit.election.campaign')
        .find((s) => s.attributes['etcdkit.election.name'] === name);
      expect(span?.attributes['etcdkit.election.create_revision']).toBeDefined();
      await runner.stop();
      expect(t.value(await t.collect(), METRICS.leader, election)).toBe(0);
    } finally {
      await runner.stop();
      await t.shutdown();
    }
  });

  it('a config value that fails to decode: etcdkit.config.invalid and the applied revision', async () => {
    const t = telemetry();
    const p = uniquePrefix('cfg-invalid');
    await fx.etcd.put(`${p}good`, '{"a":1}');
    const cfg = await mirror(fx.etcd, p, { decode: decoders.json });
    try {
      await fx.etcd.put(`${p}bad`, '{ not json');
      await until(() => cfg.invalidKeys().has('bad'), { what: 'the invalid value' });
      const { revision } = await fx.etcd.put(`${p}good`, '{"a":2}');
      await until(() => cfg.revision >= revision, { what: 'the later put' });
      const m = await t.collect();
      expect(t.value(m, METRICS.configInvalid, { 'etcdkit.config.prefix': p })).toBe(1);
      expect(t.value(m, METRICS.configRevision, { 'etcdkit.config.prefix': p })).toBe(Number(revision));
    } finally {
      await cfg.close();
      await t.shutdown();
    }
  });

  it('a compaction under a disconnected mirror: relisted, and the watch resumes', async () => {
    const proxy = await startTcpProxy(fx.endpoints[0]!);
    const viaProxy = new Etcd({ endpoints: [proxy.endpoint], dialTimeoutMs: 1000 });
    const t = telemetry();
    const p = uniquePrefix('cfg-compact');
    await fx.etcd.put(`${p}a`, '1');
    const cfg = await mirror(viaProxy, p);
    try {
      proxy.refuse(true);
      proxy.cut();
      await until(() => cfg.status === 'reconnecting', { what: 'the mirror to notice the cut' });
      const { revision } = await fx.etcd.put(`${p}a`, '2');
      await fx.etcd.put(uniqueName('filler'), 'x');
      await fx.etcd.compact(revision + 1n, { physical: true });
      proxy.refuse(false);
      await until(() => cfg.get('a') === '2', { what: 'the mirror to catch up' });
      const m = await t.collect();
      expect(
        t.value(m, METRICS.configRelists, {
          'etcdkit.config.prefix': p,
          'etcdkit.config.reason': 'compacted',
        }),
      ).toBe(1);
      expect(t.value(m, METRICS.watchCompactions)).toBeGreaterThanOrEqual(1);
      expect(t.value(m, METRICS.retries)).toBeGreaterThanOrEqual(1);
    } finally {
      await cfg.close();
      await t.shutdown();
      await viaProxy.close();
      await proxy.close();
    }
  });

  it('records nothing after close(); several instrumentations each record once', async () => {
    const t = telemetry();
    const other = telemetry();
    const name = uniqueName('closed');
    try {
      await fx.etcd.put(name, '1');
      let m = await t.collect();
      expect(t.count(m, METRICS.rpcDuration, { 'rpc.method': 'Put' })).toBe(1);
      expect(other.count(await other.collect(), METRICS.rpcDuration, { 'rpc.method': 'Put' })).toBe(1);
      t.otel.close();
      expect(t.otel.closed).toBe(true);
      const spansBefore = t.spans().length;
      await fx.etcd.put(name, '2');
      const s = await fx.session(10);
      const lock = await new Mutex(s, name).lock();
      await lock.unlock();
      await s.close();
      m = await t.collect();
      expect(t.count(m, METRICS.rpcDuration, { 'rpc.method': 'Put' })).toBe(1);
      expect(t.count(m, METRICS.lockWait)).toBe(0);
      expect(t.value(m, METRICS.sessionsLive)).toBe(0);
      expect(t.spans()).toHaveLength(spansBefore);
      // The other one goes on.
      expect(other.count(await other.collect(), METRICS.lockWait, { 'etcdkit.lock.name': name })).toBe(1);
    } finally {
      await t.shutdown();
      await other.shutdown();
    }
  });

  it('refuses bad options with a typed error', () => {
    expect(() => instrument({ meterProvider: {} as never })).toThrow(/MeterProvider/);
    expect(() => instrument({ tracer: 1 } as never)).toThrow(/unknown option "tracer"/);
  });
});
