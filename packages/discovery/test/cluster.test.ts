import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Etcd } from '@etcdkit/core';
import { type EtcdCluster, startCluster } from '@etcdkit/testkit';
import { uniqueName as uniq } from '@etcdkit/testkit/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DiscoveryMessage, discover, register } from '../src/index.js';
import { untilList } from './helpers.js';

let cluster: EtcdCluster;
const clients: Etcd[] = [];
const client = () => {
  const c = new Etcd({ endpoints: cluster.endpoints, dialTimeoutMs: 2000, requestTimeoutMs: 5000 });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  cluster = await startCluster({ members: 3 });
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await cluster?.close();
});

describe('discovery on a 3-member cluster', () => {
  it('instances stay registered (or register again) through the kill of the member they talk to', async () => {
    const service = uniq('cluster');
    const messages: DiscoveryMessage[] = [];
    const onMessage = (m: unknown) => messages.push(m as DiscoveryMessage);
    subscribe('etcdkit:discovery', onMessage);
    try {
      const regClient = client();
      const regs = await Promise.all(
        ['a', 'b', 'c'].map((id, i) =>
          register(regClient, { service, id, address: `10.0.0.${i}:80`, ttl: 10 }),
        ),
      );
      await using svc = await discover(client(), service);
      expect(svc.instances()).toHaveLength(3);
      const downs: string[] = [];
      svc.on('down', (i) => downs.push(i.id));

      const victim = cluster.members.find((m) => regClient.endpoint.includes(m.endpoint))!;
      expect(victim).toBeDefined();
      await victim.kill();
      await cluster.waitForLeader();

      // The registrations work through the failover: a drain is written and seen.
      await regs[0]!.drain();
      await untilList(svc, (l) => l.length === 3 && l[0]!.draining, 'a draining, all three listed');
      for (const r of regs) expect(r.state).toBe('registered');
      // Unless a session was lost on the way (a loaded machine), no instance left the list.
      if (!messages.some((m) => m.type === 'lost' && m.service === service)) expect(downs).toEqual([]);

      await victim.restart();
      await Promise.all(regs.map((r) => r.close()));
      await untilList(svc, (l) => l.length === 0, 'all removed');
      const mine = messages.filter((m) => m.service === service);
      expect(mine.filter((m) => m.type === 'registered')).toHaveLength(3);
      expect(mine.filter((m) => m.type === 'draining').map((m) => m.id)).toEqual(['a']);
      expect(mine.filter((m) => m.type === 'deregistered')).toHaveLength(3);
    } finally {
      unsubscribe('etcdkit:discovery', onMessage);
    }
  });
});
