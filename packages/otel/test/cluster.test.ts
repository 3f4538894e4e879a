import { uniqueName, until, useCluster } from '@etcdkit/testkit/vitest';
import { SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { METRICS } from '../src/index.js';
import { telemetry } from './telemetry.js';

const fx = useCluster();

describe('instrument() on a 3-member cluster', () => {
  it('a member killed under the client: the failover is counted and the call that moved is a span on the new member', async () => {
    const t = telemetry();
    const etcd = fx.client();
    const key = uniqueName('failover');
    try {
      await etcd.put(key, '1');
      const first = etcd.endpoint;
      const member = fx.cluster.members.find((m) => m.endpoint === first)!;
      await member.kill();
      await fx.cluster.waitForLeader();
      // A read is safe to repeat: it is retried on the next member.
      expect((await etcd.get(key))?.value.toString()).toBe('1');
      expect(etcd.endpoint).not.toBe(first);
      await until(
        async () => t.value(await t.collect(), METRICS.failovers, { 'etcdkit.endpoint.from': first }) >= 1,
        {
          what: 'the failover to be counted',
        },
      );
      const ranges = t.spans('etcdserverpb.KV/Range');
      const last = ranges[ranges.length - 1]!;
      expect(last.status.code).toBe(SpanStatusCode.UNSET);
      expect(`127.0.0.1:${last.attributes['server.port']}`).toBe(etcd.endpoint);
      await member.restart();
    } finally {
      await t.shutdown();
    }
  });
});
