import { InvalidArgumentError, PermissionDeniedError } from './errors.js';
import type { CallOptions, Connection } from './internal/connection.js';
import { toEtcdError } from './internal/error-map.js';
import type { WireHeader } from './internal/wire.js';

/** What `etcdctl endpoint status` shows for one member. */
export interface EndpointStatus {
  endpoint: string;
  memberId: bigint;
  version: string;
  dbSize: number;
  dbSizeInUse: number;
  leader: bigint;
  isLeader: boolean;
  isLearner: boolean;
  raftTerm: bigint;
  raftIndex: bigint;
  raftAppliedIndex: bigint;
  errors: string[];
}

export interface EndpointHealth {
  endpoint: string;
  healthy: boolean;
  tookMs: number;
  error?: string;
}

export type AlarmType = 'NOSPACE' | 'CORRUPT';
export interface Alarm {
  memberId: bigint;
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
  statusAll(options?: CallOptions): Promise<(EndpointStatus | { endpoint: string; error: Error })[]> {
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

  healthAll(options?: CallOptions): Promise<EndpointHealth[]> {
    return Promise.all(this.conn.endpointLabels.map((endpoint) => this.health({ ...options, endpoint })));
  }

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
  ): Promise<{ hash: number; compactRevision: bigint; revision: bigint }> {
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
  async snapshotToFile(path: string, options?: TargetOptions): Promise<{ path: string; bytes: number }> {
    // Loaded here, not at the top: the rest of core runs where there is no file system (browsers).
    const [{ EventEmitter }, { createWriteStream }, { rename, rm }] = await Promise.all([
      import('node:events'),
      import('node:fs'),
      import('node:fs/promises'),
    ]);
    const tmp = `${path}.part`;
    const out = createWriteStream(tmp);
    let bytes = 0;
    try {
      for await (const chunk of this.snapshot(options)) {
        bytes += chunk.length;
        if (!out.write(chunk)) await EventEmitter.once(out, 'drain');
      }
      out.end();
      await EventEmitter.once(out, 'finish');
      await rename(tmp, path);
      return { path, bytes };
    } catch (err) {
      out.destroy();
      await rm(tmp, { force: true });
      throw err;
    }
  }
}
