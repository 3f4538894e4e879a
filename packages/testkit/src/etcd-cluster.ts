import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { findEtcd } from './binaries.js';
import { EtcdNotFoundError, PortInUseError, TestkitError } from './errors.js';
import { EtcdProcess, HOST, sleep } from './etcd-process.js';
import {
  DEFAULT_START_TIMEOUT_MS,
  endpointOf,
  maybeTls,
  type RestartOptions,
  type TlsOptions,
  tlsOptions,
} from './etcd-server.js';
import { freePorts } from './free-port.js';
import { isHealthy, memberStatus } from './http.js';
import type { ClientTls } from './tls.js';
import { createWorkspace, removeWorkspace } from './workspace.js';

/** Options of {@link startCluster}. */
export interface StartClusterOptions {
  /** Number of members (default 3). */
  members?: number;
  /** Serve HTTPS (and peer TLS) with a generated CA; `cluster.tls` then holds the client material. */
  tls?: boolean | TlsOptions;
  /** Extra etcd flags for every member. */
  args?: readonly string[];
  /** How long to wait until every member is healthy (default 30 s). */
  startTimeoutMs?: number;
  /** Member names are `${namePrefix}${index}` (default "member-"). */
  namePrefix?: string;
}

/** One member of a test cluster; its ports and data dir survive kill()/restart(). */
export interface EtcdMember {
  /** The member name. */
  readonly name: string;
  /** Client endpoint, as in EtcdServer.endpoints. */
  readonly endpoint: string;
  /** Its client URL, e.g. `http://127.0.0.1:PORT`. */
  readonly clientUrl: string;
  /** Its peer URL, where the other members reach it. */
  readonly peerUrl: string;
  /** Its data directory. */
  readonly dataDir: string;
  /** The process ID while running; undefined when stopped or killed. */
  readonly pid: number | undefined;
  /** True while its process runs. */
  readonly running: boolean;
  /** SIGTERM and wait for exit; ports and data dir are kept for restart(). */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit; ports and data dir are kept for restart(). */
  kill(): Promise<void>;
  /** Start again on the same ports and data dir; it rejoins with its existing identity. */
  restart(options?: RestartOptions): Promise<void>;
  /** SIGSTOP: the member hangs with its sockets open, like a frozen machine. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
}

/**
 * A running n-member etcd cluster for tests, as {@link startCluster} returns it; `await using`
 * stops it and removes its data.
 */
export interface EtcdCluster extends AsyncDisposable {
  /** The client endpoints of all members (running or not). */
  readonly endpoints: string[];
  /** Every member, in start order. */
  readonly members: readonly EtcdMember[];
  /** Client-side TLS material when started with `tls`. */
  readonly tls?: ClientTls;
  /** The running member that reports itself raft leader, if any. */
  leader(): Promise<EtcdMember | undefined>;
  /**
   * Wait until a running member is leader, e.g. after killing the leader: until then a
   * write sent to a follower may be forwarded to the dead leader and time out.
   */
  waitForLeader(timeoutMs?: number): Promise<EtcdMember>;
  /** Wait until every running member reports healthy. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Kill all members and remove their data; idempotent. */
  close(): Promise<void>;
}

const PORT_ATTEMPTS = 5;

class ClusterMember implements EtcdMember {
  constructor(
    readonly proc: EtcdProcess,
    private readonly timeoutMs: number,
    private readonly isClosed: () => boolean,
  ) {}

  get name(): string {
    return this.proc.config.name;
  }
  get endpoint(): string {
    return endpointOf(this.proc.clientUrl);
  }
  get clientUrl(): string {
    return this.proc.clientUrl;
  }
  get peerUrl(): string {
    return this.proc.peerUrl;
  }
  get dataDir(): string {
    return this.proc.config.dataDir;
  }
  get pid(): number | undefined {
    return this.proc.pid;
  }
  get running(): boolean {
    return this.proc.running;
  }
  stop(): Promise<void> {
    return this.proc.stop();
  }
  kill(): Promise<void> {
    return this.proc.kill();
  }
  async restart(options: RestartOptions = {}): Promise<void> {
    if (this.isClosed()) throw new TestkitError(`cannot restart ${this.name}: the cluster is closed`);
    await this.proc.stop();
    // With its data dir in place etcd ignores the --initial-cluster* flags and rejoins as itself.
    await this.proc.start(options.timeoutMs ?? this.timeoutMs, options.waitFor);
  }
  pause(): void {
    this.proc.pause();
  }
  resume(): void {
    this.proc.resume();
  }
}

class LocalEtcdCluster implements EtcdCluster {
  readonly members: readonly ClusterMember[];
  readonly endpoints: string[];
  private closing: Promise<void> | undefined;

  constructor(
    procs: EtcdProcess[],
    private readonly root: string,
    readonly tls: ClientTls | undefined,
    private readonly timeoutMs: number,
  ) {
    this.members = procs.map((p) => new ClusterMember(p, timeoutMs, () => this.closing !== undefined));
    this.endpoints = this.members.map((m) => m.endpoint);
  }

  async leader(): Promise<EtcdMember | undefined> {
    const running = this.members.filter((m) => m.running && !m.proc.isPaused);
    const statuses = await Promise.all(running.map((m) => memberStatus(m.clientUrl, this.tls)));
    // Trust only a self-report: followers keep naming a dead leader until their election timeout.
    const index = statuses.findIndex((s) => s !== undefined && s.leader === s.memberId);
    return index >= 0 ? running[index] : undefined;
  }

  async waitForLeader(timeoutMs = this.timeoutMs): Promise<EtcdMember> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = await this.leader();
      if (leader) return leader;
      if (Date.now() > deadline) throw new TestkitError(`etcd cluster has no leader after ${timeoutMs}ms`);
      await sleep(50);
    }
  }

  async waitHealthy(timeoutMs = this.timeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = this.members.filter((m) => m.running);
      const health = await Promise.all(running.map((m) => isHealthy(m.clientUrl, this.tls)));
      if (health.every(Boolean)) return;
      if (Date.now() > deadline) {
        const sick = running.filter((_, i) => !health[i]).map((m) => m.name);
        throw new TestkitError(`etcd cluster members not healthy after ${timeoutMs}ms: ${sick.join(', ')}`);
      }
      await sleep(50);
    }
  }

  close(): Promise<void> {
    this.closing ??= Promise.all(this.members.map((m) => m.kill())).then(() => removeWorkspace(this.root));
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Starts an n-member etcd cluster on free loopback ports (always local processes, as tests
 * need to kill members; ETCD_ENDPOINTS is ignored) and resolves when every member is healthy.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<EtcdCluster> {
  const size = options.members ?? 3;
  if (!Number.isInteger(size) || size < 1)
    throw new TestkitError(`members must be a positive integer, got ${size}`);
  const startTimeoutMs = options.startTimeoutMs ?? Math.max(DEFAULT_START_TIMEOUT_MS, 30_000);
  const prefix = options.namePrefix ?? 'member-';
  const tls = tlsOptions(options.tls);
  const binary = findEtcd();
  if (!binary.path) {
    throw new EtcdNotFoundError(
      `${binary.tried}; startCluster needs the etcd binary, it has no Docker fallback`,
    );
  }

  const root = await createWorkspace();
  try {
    const bundle = await maybeTls(root, tls);
    const names = Array.from({ length: size }, (_, i) => `${prefix}${i}`);
    for (let attempt = 1; ; attempt++) {
      const ports = await freePorts(2 * size);
      const peerUrl = (i: number): string => `http://${HOST}:${ports[2 * i + 1]}`;
      const initialCluster = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',');
      const clusterToken = `etcdkit-${randomUUID()}`;
      const procs = names.map(
        (name, i) =>
          new EtcdProcess({
            bin: binary.path!,
            name,
            dataDir: join(root, name),
            clientPort: ports[2 * i]!,
            peerPort: ports[2 * i + 1]!,
            initialCluster,
            clusterToken,
            tls: bundle && {
              caFile: bundle.caFile,
              certFile: bundle.serverCertFile,
              keyFile: bundle.serverKeyFile,
              clientCertAuth: tls?.clientCertAuth === true,
            },
            probeTls: bundle?.client,
            args: options.args ?? [],
          }),
      );
      // One failed member would leave the others waiting for a quorum until the timeout: kill all at once.
      const killAll = (): Promise<unknown> => Promise.all(procs.map((p) => p.kill()));
      let cause: unknown;
      const results = await Promise.allSettled(
        procs.map((p) =>
          p.start(startTimeoutMs).catch(async (error: unknown) => {
            cause ??= error;
            await killAll();
            throw error;
          }),
        ),
      );
      const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      if (errors.length === 0) return new LocalEtcdCluster(procs, root, bundle?.client, startTimeoutMs);
      await killAll();
      await Promise.all(procs.map((p) => rm(p.config.dataDir, { recursive: true, force: true })));
      const portClash = errors.some((e) => e instanceof PortInUseError);
      if (portClash && attempt < PORT_ATTEMPTS) continue;
      // The first failure is the cause; the others are members we killed because of it.
      throw cause;
    }
  } catch (error) {
    await removeWorkspace(root);
    throw error;
  }
}
