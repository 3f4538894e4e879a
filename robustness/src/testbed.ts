/**
 * The system under test: a 3-member etcd cluster, one TCP proxy in front of each member (the
 * workloads' clients only know the proxies, so faults can cut, blackhole and retarget them),
 * and a direct admin client for faults and history reads.
 */
import { Etcd } from '@etcdkit/core';
import { type EtcdCluster, startCluster, startTcpProxy, type TcpProxy } from '@etcdkit/testkit';

/** Client timeouts of every client of the run: short, so faults are noticed and worked around. */
export const CLIENT_OPTIONS = { dialTimeoutMs: 1000, requestTimeoutMs: 3000 } as const;

export interface Testbed {
  readonly cluster: EtcdCluster;
  readonly proxies: readonly TcpProxy[];
  /** Goes to the members directly: faults' calls (compact, defragment, move leader) and the recorder. */
  readonly admin: Etcd;
  /** Proxy endpoints, starting at proxy `i % 3`, so clients spread over the members. */
  endpointsFor(i: number): string[];
  close(): Promise<void>;
}

export async function startTestbed(): Promise<Testbed> {
  const cluster = await startCluster({ members: 3 });
  const proxies: TcpProxy[] = [];
  try {
    for (const m of cluster.members) proxies.push(await startTcpProxy(m.endpoint));
  } catch (err) {
    await Promise.all(proxies.map((p) => p.close()));
    await cluster.close();
    throw err;
  }
  const admin = new Etcd({ endpoints: cluster.endpoints, ...CLIENT_OPTIONS });
  return {
    cluster,
    proxies,
    admin,
    endpointsFor(i) {
      const all = proxies.map((p) => p.endpoint);
      const k = i % all.length;
      return [...all.slice(k), ...all.slice(0, k)];
    },
    async close() {
      await admin.close().catch(() => {});
      await Promise.all(proxies.map((p) => p.close()));
      await cluster.close();
    },
  };
}
