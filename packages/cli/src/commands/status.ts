import type { Alarm, EndpointHealth, EndpointStatus } from '@etcdkit/core';
import type { Command, Invocation } from '../command.js';
import { parseDuration } from '../durations.js';
import { CliError, dialReason, EXIT_OK, UsageError } from '../errors.js';
import { humanBytes, table, toJson } from '../output.js';

const HELP = `Usage: etcdkit status [--cluster] [--timeout <time>]

Show every endpoint as \`etcdctl endpoint status -w table\` does (member ID, version, database
size, leader, raft term and index, errors) with its health, then raised alarms. Exits with 1
when the cluster is unhealthy: an endpoint is down or unhealthy, there is no leader, or an
alarm (NOSPACE, CORRUPT) is raised.

Options:
  --cluster           ask the cluster for its members and show all of them, not only --endpoints
  --timeout <time>    how long to wait for each endpoint's answers (default 5s)

Examples:
  etcdkit status --endpoints 10.0.0.1:2379,10.0.0.2:2379,10.0.0.3:2379
  etcdkit status --cluster --json`;

type StatusResult = EndpointStatus | { endpoint: string; error: Error };

interface Row {
  endpoint: string;
  status: EndpointStatus | undefined;
  health: EndpointHealth | undefined;
  error: string | undefined;
}

function shortError(err: Error): string {
  return dialReason(err).replace(/\s*\n\s*/g, ' ');
}

const hex = (id: bigint): string => id.toString(16);

async function run(inv: Invocation): Promise<number> {
  if (inv.rest) throw new UsageError('status takes no command after --', 'status');
  if (inv.positionals.length)
    throw new UsageError(`unexpected argument ${JSON.stringify(inv.positionals[0])} for status`, 'status');
  const timeoutMs = parseDuration((inv.values.timeout as string | undefined) ?? '5s', 'timeout', 'status');
  const etcd = inv.client();
  if (inv.values.cluster) await etcd.syncEndpoints({ timeoutMs });

  const [statuses, healths] = await Promise.all([
    etcd.maintenance.statusAll({ timeoutMs }) as Promise<StatusResult[]>,
    etcd.maintenance.healthAll({ timeoutMs }),
  ]);
  const rows: Row[] = etcd.endpoints.map((endpoint) => {
    const s = statuses.find((x) => x.endpoint === endpoint);
    const status = s && !('error' in s) ? s : undefined;
    const health = healths.find((h) => h.endpoint === endpoint);
    const errors = [
      ...(s && 'error' in s ? [shortError(s.error)] : []),
      ...(status?.errors ?? []),
      ...(health && !health.healthy && health.error && !(s && 'error' in s) ? [health.error] : []),
    ];
    return { endpoint, status, health, error: errors.length ? errors.join('; ') : undefined };
  });

  // Alarms are cluster-wide: any member that answers can tell.
  let alarms: Alarm[] = [];
  let alarmError: string | undefined;
  const reachable = rows.find((r) => r.status);
  if (reachable) {
    try {
      alarms = await etcd.maintenance.alarms({ endpoint: reachable.endpoint, timeoutMs });
    } catch (err) {
      alarmError = shortError(err as Error);
    }
  }

  const down = rows.filter((r) => !r.status || !r.health?.healthy);
  const leaders = new Set(rows.flatMap((r) => (r.status && r.status.leader !== 0n ? [r.status.leader] : [])));
  const problems: string[] = [];
  if (rows.every((r) => !r.status)) problems.push('no endpoint answers');
  else {
    if (down.length)
      problems.push(down.map((r) => `${r.endpoint} is ${r.status ? 'unhealthy' : 'down'}`).join(', '));
    if (leaders.size === 0) problems.push('no leader');
    if (alarms.length)
      problems.push(alarms.map((a) => `alarm ${a.alarm} on member ${hex(a.memberId)}`).join(', '));
    if (alarmError) problems.push(`alarms could not be read (${alarmError})`);
  }

  if (inv.json) {
    inv.out.line(
      toJson({
        healthy: problems.length === 0,
        endpoints: rows.map((r) => ({
          endpoint: r.endpoint,
          healthy: r.health?.healthy === true && r.status !== undefined,
          tookMs: r.health ? Math.round(r.health.tookMs * 10) / 10 : undefined,
          error: r.error,
          status: r.status && {
            memberId: hex(r.status.memberId),
            version: r.status.version,
            dbSize: r.status.dbSize,
            dbSizeInUse: r.status.dbSizeInUse,
            leader: hex(r.status.leader),
            isLeader: r.status.isLeader,
            isLearner: r.status.isLearner,
            raftTerm: r.status.raftTerm,
            raftIndex: r.status.raftIndex,
            raftAppliedIndex: r.status.raftAppliedIndex,
            errors: r.status.errors,
          },
        })),
        alarms: alarms.map((a) => ({ memberId: hex(a.memberId), alarm: a.alarm })),
        problems,
      }),
    );
  } else {
    const header = [
      'ENDPOINT',
      'ID',
      'VERSION',
      'DB SIZE',
      'IS LEADER',
      'IS LEARNER',
      'RAFT TERM',
      'RAFT INDEX',
      'RAFT APPLIED INDEX',
      'HEALTH',
      'ERRORS',
    ];
    const body = rows.map((r) => {
      const s = r.status;
      const health =
        r.health?.healthy && s ? `ok (${r.health.tookMs.toFixed(1)} ms)` : s ? 'unhealthy' : 'down';
      return [
        r.endpoint,
        s ? hex(s.memberId) : '',
        s?.version ?? '',
        s ? humanBytes(s.dbSize) : '',
        s ? String(s.isLeader) : '',
        s ? String(s.isLearner) : '',
        s ? String(s.raftTerm) : '',
        s ? String(s.raftIndex) : '',
        s ? String(s.raftAppliedIndex) : '',
        health,
        r.error ?? '',
      ];
    });
    for (const line of table(header, body)) inv.out.line(line);
    for (const a of alarms) inv.out.line(`alarm: ${a.alarm} raised by member ${hex(a.memberId)}`);
  }

  if (problems.length === 0) return EXIT_OK;
  if (rows.every((r) => !r.status)) {
    const first = statuses.find((s): s is { endpoint: string; error: Error } => 'error' in s);
    // The usual "cannot reach etcd" line, with its hint.
    if (first) throw first.error;
  }
  throw new CliError(`unhealthy: ${problems.join('; ')}`);
}

export const status: Command = {
  name: 'status',
  summary: 'status and health of every endpoint, as a table; exits 1 when unhealthy',
  help: HELP,
  options: {
    cluster: { type: 'boolean' },
    timeout: { type: 'string' },
  },
  run,
};
