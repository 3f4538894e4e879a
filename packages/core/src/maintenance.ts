import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { InvalidArgumentError, PermissionDeniedError } from './errors.js';
import type { CallOptions, Connection } from './internal/connection.js';
import { toEtcdError } from './internal/error-map.js';
import type { WireHeader } from './internal/wire.js';

/** What `etcdctl endpoint status` shows for one member. */
export interface EndpointStatus {
  /** The endpoint asked, as given to the client. */
  endpoint: string;
  /** ID of the member that answered. */
  memberId: bigint;
  /** etcd's server version, e.g. `3.5.17`. */
  version: string;
  /** Size of the backend database file, in bytes. */
  dbSize: number;
  /** Bytes of the database file in use; the rest is reclaimed by a defragment. */
  dbSizeInUse: number;
  /** Member ID of the raft leader (0 when there is none). */
  leader: bigint;
  /** True when this member is the leader. */
  isLeader: boolean;
  /** True when this member is a learner. */
  isLearner: boolean;
  /** The current raft term. */
  raftTerm: bigint;
  /** The member's raft index (committed). */
  raftIndex: bigint;
  /** The raft index the member has applied. */
  raftAppliedIndex: bigint;
  /** Errors the member reports (e.g. raised alarms), as etcd words them. */
  errors: string[];
}

/** What `etcdctl endpoint health` says for one member. */
export interface EndpointHealth {
  /** The endpoint asked, as given to the client. */
  endpoint: string;
  /** A linearizable read succeeded and no alarm is raised. */
  healthy: boolean;
  /** How long the check took, in milliseconds. */
  tookMs: number;
  /** Why it is unhealthy. */
  error?: string;
}

/**
 * An alarm etcd raises: out of space (the quota is reached; writes are refused) or a corrupt
 * member.
 */
export type AlarmType = 'NOSPACE' | 'CORRUPT';
/** A raised alarm, as {@link MaintenanceApi.alarms} returns it. */
export interface Alarm {
  /** The member that raised it. */
  memberId: bigint;
  /** Which alarm. */
  alarm: AlarmType;
}

export interface TargetOptions extends CallOptions {
  /** The endpoint (as given to the client) to ask. Default: the current one. */
  endpoint?: string;
}

interface WireStatus {
  header: WireHeader;
  version: string;
  dbSize: string;
  leader: string;
  raftIndex: string;
  raftTerm: string;
  raftAppliedIndex: string;
  errors: string[];
  dbSizeInUse: string;
  isLearner: boolean;
}

/** Per-member calls, as `etcdctl endpoint`, `alarm`, `defrag`, `snapshot save` and `move-leader` make them. */
export class MaintenanceApi {
  private readonly conn: Connection;
  /** @internal */
  constructor(conn: Connection) {
    this.conn = conn;
  }

  private target(o: TargetOptions | undefined): { endpointIndex?: number; label: string } {
    if (o?.endpoint === undefined) return { label: this.conn.endpoint };
    const i = this.conn.endpointLabels.indexOf(o.endpoint);
    if (i < 0)
      throw new InvalidArgumentError(
        `unknown endpoint ${JSON.stringify(o.endpoint)}: use one of ${this.conn.endpointLabels.join(', ')}`,
      );
    return { endpointIndex: i, label: o.endpoint };
  }

  /**
   * Status of one member (the current endpoint, or `options.endpoint`), as `etcdctl endpoint
   * status`.
   *
   * @throws {@link InvalidArgumentError} for an endpoint the client does not have.
   */
  async status(options?: TargetOptions): Promise<EndpointStatus> {
    const t = this.target(options);
    const r = await this.conn.unary<object, WireStatus>(
      'Maintenance',
      'Status',
      {},
      { idempotent: true, ...options, ...t },
    );
    const memberId = BigInt(r.header.memberId);
    return {
      endpoint: options?.endpoint ?? this.conn.endpoint,
      memberId,
      version: r.version,
      dbSize: Number(r.dbSize),
      dbSizeInUse: Number(r.dbSizeInUse),
      leader: BigInt(r.leader),
      isLeader: memberId === BigInt(r.leader),
      isLearner: r.isLearner,
      raftTerm: BigInt(r.raftTerm),
      raftIndex: BigInt(r.raftIndex),
      raftAppliedIndex: BigInt(r.raftAppliedIndex),
      errors: r.errors,
    };
  }

  /** Status of every endpoint of the client; a failed one carries its error. */
  statusAll(options?: CallOptions): Promise<
    (
      | EndpointStatus
      | {
          /** The endpoint that failed to answer. */
          endpoint: string;
          /** Why. */
          error: Error;
        }
    )[]
  > {
    return Promise.all(
      this.conn.endpointLabels.map((endpoint) =>
        this.status({ ...options, endpoint }).catch((error: Error) => ({ endpoint, error })),
      ),
    );
  }

  /** Healthy = a linearizable read succeeds (a permission error still proves a quorum) and no alarm is raised. */
  async health(options?: TargetOptions): Promise<EndpointHealth> {
    const t = this.target(options);
    const started = performance.now();
    try {
      await this.conn.unary(
        'KV',
        'Range',
        { key: Buffer.from('health') },
        { idempotent: true, ...options, ...t },
      );
    } catch (err) {
      if (!(err instanceof PermissionDeniedError))
        return {
          endpoint: t.label,
          healthy: false,
          tookMs: performance.now() - started,
          error: (err as Error).message,
        };
    }
    const tookMs = performance.now() - started;
    try {
      const alarms = await this.alarms(options);
      if (alarms.length)
        return {
          endpoint: t.label,
          healthy: false,
          tookMs,
          error: `alarms raised: ${alarms.map((a) => a.alarm).join(', ')}`,
        };
    } catch (err) {
      return { endpoint: t.label, healthy: false, tookMs, error: (err as Error).message };
    }
    return { endpoint: t.label, healthy: true, tookMs };
  }

  /** Health of every endpoint of the client; never rejects (an unreachable endpoint is unhealthy). */
  healthAll(options?: CallOptions): Promise<EndpointHealth[]> {
    return Promise.all(this.conn.endpointLabels.map((endpoint) => this.health({ ...options, endpoint })));
  }

  /** The alarms raised in the cluster (asked of one member; alarms are cluster-wide). */
  async alarms(options?: TargetOptions): Promise<Alarm[]> {
    const t = this.target(options);
    const r = await this.conn.unary<object, { alarms: { memberID: string; alarm: AlarmType | 'NONE' }[] }>(
      'Maintenance',
      'Alarm',
      { action: 'GET', memberID: '0', alarm: 'NONE' },
      { idempotent: true, ...options, ...t },
    );
    return r.alarms
      .filter((a) => a.alarm !== 'NONE')
      .map((a) => ({ memberId: BigInt(a.memberID), alarm: a.alarm as AlarmType }));
  }

  /** Clear raised alarms (all of them, or one member's / one kind). */
  async disarm(alarm?: Partial<Alarm>, options?: CallOptions): Promise<Alarm[]> {
    const raised = await this.alarms(options);
    const chosen = raised.filter(
      (a) =>
        (alarm?.memberId === undefined || a.memberId === alarm.memberId) &&
        (!alarm?.alarm || a.alarm === alarm.alarm),
    );
    for (const a of chosen)
      await this.conn.unary(
        'Maintenance',
        'Alarm',
        { action: 'DEACTIVATE', memberID: a.memberId.toString(), alarm: a.alarm },
        { idempotent: true, ...options },
      );
    return chosen;
  }

  /** Reclaim the space of compacted revisions on one member (it blocks that member meanwhile). */
  async defragment(options?: TargetOptions): Promise<void> {
    const t = this.target(options);
    await this.conn.unary(
      'Maintenance',
      'Defragment',
      {},
      { idempotent: true, timeoutMs: 60_000, ...options, ...t },
    );
  }

  /**
   * Hash of the member's whole backend (every bucket; meant for tests). To compare members, use
   * {@link MaintenanceApi.hashKv}.
   */
  async hash(options?: TargetOptions): Promise<number> {
    const t = this.target(options);
    const r = await this.conn.unary<object, { hash: number }>(
      'Maintenance',
      'Hash',
      {},
      { idempotent: true, ...options, ...t },
    );
    return r.hash;
  }

  /** Hash of the keyspace up to `revision` (0 = latest): equal on members that agree. */
  async hashKv(
    revision = 0n,
    options?: TargetOptions,
  ): Promise<{
    /** The hash (CRC-32) of the keys and values up to `revision`. */
    hash: number;
    /** The member's compact revision (hashes are comparable only at the same one). */
    compactRevision: bigint;
    /** The revision hashed. */
    revision: bigint;
  }> {
    const t = this.target(options);
    const r = await this.conn.unary<object, { header: WireHeader; hash: number; compactRevision: string }>(
      'Maintenance',
      'HashKV',
      { revision: revision.toString() },
      { idempotent: true, ...options, ...t },
    );
    return { hash: r.hash, compactRevision: BigInt(r.compactRevision), revision: BigInt(r.header.revision) };
  }

  /** Hand leadership to another member; asked of the current leader. */
  async moveLeader(targetId: bigint, options?: CallOptions): Promise<void> {
    const statuses = await this.statusAll(options);
    const leader = statuses.find((s): s is EndpointStatus => 'isLeader' in s && s.isLeader);
    if (!leader)
      throw new InvalidArgumentError(
        'no endpoint of this client is the leader; include the leader in endpoints',
      );
    await this.conn.unary(
      'Maintenance',
      'MoveLeader',
      { targetID: targetId.toString() },
      { idempotent: true, ...options, ...this.target({ endpoint: leader.endpoint }) },
    );
  }

  /** The member's backend database, streamed. */
  async *snapshot(options?: TargetOptions): AsyncGenerator<Buffer, void, undefined> {
    const t = this.target(options);
    const { call } = await this.conn.serverStream<object, { blob: Buffer }>(
      'Maintenance',
      'Snapshot',
      {},
      {
        ...(options?.signal ? { signal: options.signal } : {}),
        ...(t.endpointIndex !== undefined ? { endpointIndex: t.endpointIndex } : {}),
      },
    );
    try {
      for await (const chunk of call as AsyncIterable<{ blob: Buffer }>) yield chunk.blob;
    } catch (err) {
      throw toEtcdError(err, { method: 'Maintenance.Snapshot', endpoint: t.label });
    } finally {
      call.cancel();
    }
  }

  /** Save a snapshot to `path` (written to a temporary file, then renamed), as `etcdctl snapshot save`. */
  async snapshotToFile(
    path: string,
    options?: TargetOptions,
  ): Promise<{
    /** The file written. */
    path: string;
    /** Its size in bytes. */
    bytes: number;
  }> {
    const tmp = `${path}.part`;
    const out = createWriteStream(tmp);
    let bytes = 0;
    try {
      for await (const chunk of this.snapshot(options)) {
        bytes += chunk.length;
        if (!out.write(chunk)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
      await rename(tmp, path);
      return { path, bytes };
    } catch (err) {
      out.destroy();
      await rm(tmp, { force: true });
      throw err;
    }
  }
}
