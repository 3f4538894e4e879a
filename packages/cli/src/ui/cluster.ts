import type { EndpointStatus, Etcd } from '@etcdkit/core';
import type { ClusterView } from '../../page/protocol.js';
import { dialReason } from '../errors.js';

/** What `etcdkit status` shows, for the page: one row per endpoint, then the alarms (page/protocol.ts). */
export type { ClusterView };

const hex = (id: bigint): string => id.toString(16);
const oneLine = (err: Error): string => dialReason(err).replace(/\s*\n\s*/g, ' ');

/** Read status, health, members and alarms of every endpoint the client knows. */
export async function readCluster(etcd: Etcd, timeoutMs: number): Promise<ClusterView> {
  const [statuses, healths, members] = await Promise.all([
    etcd.maintenance.statusAll({ timeoutMs }),
    etcd.maintenance.healthAll({ timeoutMs }),
    etcd.cluster.memberList({ timeoutMs }).catch(() => undefined),
  ]);
  const names = new Map((members ?? []).map((m) => [m.id, m.name]));
  const endpoints: ClusterView['endpoints'] = etcd.endpoints.map((endpoint) => {
    const s = statuses.find((x) => x.endpoint === endpoint);
    const status = s && !('error' in s) ? (s as EndpointStatus) : undefined;
    const h = healths.find((x) => x.endpoint === endpoint);
    const errors = [
      ...(s && 'error' in s ? [oneLine(s.error)] : []),
      ...(status?.errors ?? []),
      ...(h && !h.healthy && h.error && status ? [h.error] : []),
    ];
    const row: ClusterView['endpoints'][number] = {
      endpoint,
      up: status !== undefined,
      healthy: status !== undefined && h?.healthy === true,
    };
    if (h) row.tookMs = Math.round(h.tookMs * 10) / 10;
    if (errors.length) row.error = errors.join('; ');
    if (status) {
      Object.assign(row, {
        memberId: hex(status.memberId),
        version: status.version,
        dbSize: status.dbSize,
        dbSizeInUse: status.dbSizeInUse,
        isLeader: status.isLeader,
        isLearner: status.isLearner,
        raftTerm: String(status.raftTerm),
        raftIndex: String(status.raftIndex),
        raftAppliedIndex: String(status.raftAppliedIndex),
      });
      const name = names.get(status.memberId);
      if (name !== undefined) row.name = name;
    }
    return row;
  });
  const leaders = new Set(statuses.flatMap((s) => ('error' in s || s.leader === 0n ? [] : [hex(s.leader)])));
  let alarms: ClusterView['alarms'] = [];
  const problems: string[] = [];
  const reachable = endpoints.find((e) => e.up);
  if (reachable) {
    try {
      alarms = (await etcd.maintenance.alarms({ endpoint: reachable.endpoint, timeoutMs })).map((a) => ({
        memberId: hex(a.memberId),
        alarm: a.alarm,
      }));
    } catch (err) {
      problems.push(`alarms could not be read (${oneLine(err as Error)})`);
    }
  }
  if (!reachable) problems.push('no endpoint answers');
  else {
    for (const e of endpoints)
      if (!e.healthy) problems.push(`${e.endpoint} is ${e.up ? 'unhealthy' : 'down'}`);
    if (leaders.size === 0) problems.push('no leader');
    for (const a of alarms) problems.push(`alarm ${a.alarm} on member ${a.memberId}`);
  }
  const view: ClusterView = {
    readAt: Date.now(),
    endpoints,
    members: (members ?? []).map((m) => ({
      id: hex(m.id),
      name: m.name,
      clientUrls: m.clientUrls,
      isLearner: m.isLearner,
    })),
    alarms,
    problems,
  };
  if (leaders.size) view.leader = [...leaders][0]!;
  return view;
}
