import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { findEtcd } from './binaries.js';
import { startContainer } from './container.js';
import { probeDocker } from './docker.js';
import { EtcdNotFoundError, PortInUseError, TestkitError, UncontrollableServerError } from './errors.js';
import { EtcdProcess, HOST, type WaitFor } from './etcd-process.js';
import { freePorts } from './free-port.js';
import { type ClientTls, createTlsBundle, type TlsBundle } from './tls.js';
import { createWorkspace, removeWorkspace } from './workspace.js';

/** How a test etcd serves TLS (`tls: true` takes the defaults). */
export interface TlsOptions {
  /** Require clients to present a certificate issued by the test CA (`--client-cert-auth`). */
  clientCertAuth?: boolean;
  /** CN of the generated client certificate (the etcd user name under client-cert auth). */
  clientCommonName?: string;
}

/** Options of {@link startEtcd}. */
export interface StartEtcdOptions {
  /** Serve HTTPS with a generated CA; `server.tls` then holds the client material. */
  tls?: boolean | TlsOptions;
  /** Extra etcd flags, appended last so they override ours, e.g. ['--auth-token', 'simple']. */
  args?: readonly string[];
  /** Member name (default "etcdkit"). */
  name?: string;
  /** How long to wait until etcd serves (default 20 s). */
  startTimeoutMs?: number;
  /** Use ETCD_ENDPOINTS when set (default true). */
  useEnv?: boolean;
  /** Allow the testcontainers fallback when no binary is found (default true; ETCDKIT_DOCKER=0 also disables). */
  docker?: boolean;
}

/** Options of `restart()` of a server or a member. */
export interface RestartOptions {
  /**
   * 'health' (default): until /health is true, i.e. the member has a leader and serves.
   * 'listening': until it answers at all, e.g. for a member that cannot reach quorum alone.
   */
  waitFor?: WaitFor;
  /** How long to wait, in milliseconds (default: the start timeout). */
  timeoutMs?: number;
}

/** A running etcd for tests. */
export interface EtcdServer extends AsyncDisposable {
  /** For clients: ['127.0.0.1:PORT'], or ['https://127.0.0.1:PORT'] with TLS. */
  readonly endpoints: string[];
  /** 'http://127.0.0.1:PORT' or 'https://127.0.0.1:PORT'. */
  readonly clientUrl: string;
  /** Client-side TLS material when started with `tls`. */
  readonly tls?: ClientTls;
  /** '' when the data does not live in a local directory (external or container). */
  readonly dataDir: string;
  /** The process ID while running; undefined for an external or container server, or when stopped. */
  readonly pid: number | undefined;
  /** True when it came from ETCD_ENDPOINTS: it cannot be stopped, killed or paused. */
  readonly external: boolean;
  /** True while its process runs (always true for an external server). */
  readonly running: boolean;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit; the data dir is kept for restart(). */
  kill(): Promise<void>;
  /** Start again on the same ports and data dir (stopping first if running) and wait until serving. */
  restart(options?: RestartOptions): Promise<void>;
  /** SIGSTOP: the process hangs with its sockets open, like a frozen machine. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Stop and remove the data dir; idempotent. */
  close(): Promise<void>;
}

/** How long {@link startEtcd} waits for etcd to serve by default, in milliseconds. */
export const DEFAULT_START_TIMEOUT_MS = 20_000;
const PORT_ATTEMPTS = 5;

export function tlsOptions(tls: boolean | TlsOptions | undefined): TlsOptions | undefined {
  if (!tls) return undefined;
  return tls === true ? {} : tls;
}

/** Client endpoint as clients want it: no scheme for plain HTTP (grpc style), https:// with TLS. */
export function endpointOf(clientUrl: string): string {
  return clientUrl.startsWith('http://') ? clientUrl.slice('http://'.length) : clientUrl;
}

/** ETCD_ENDPOINTS, split; empty when unset. */
export function envEndpoints(): string[] {
  return (process.env.ETCD_ENDPOINTS ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
}

class LocalEtcdServer implements EtcdServer {
  readonly external = false;
  // Own properties, not getters, so `{ ...server, input }` works as etcdctl options.
  readonly endpoints: string[];
  readonly clientUrl: string;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly proc: EtcdProcess,
    private readonly root: string,
    readonly tls: ClientTls | undefined,
    private readonly timeoutMs: number,
  ) {
    this.clientUrl = proc.clientUrl;
    this.endpoints = [endpointOf(proc.clientUrl)];
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
    if (this.closing) throw new TestkitError('cannot restart a closed etcd server');
    await this.proc.stop();
    await this.proc.start(options.timeoutMs ?? this.timeoutMs, options.waitFor);
  }
  pause(): void {
    this.proc.pause();
  }
  resume(): void {
    this.proc.resume();
  }
  close(): Promise<void> {
    // SIGKILL: the data is thrown away, so a graceful shutdown would only cost time.
    this.closing ??= this.proc.kill().then(() => removeWorkspace(this.root));
    return this.closing;
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

class ExternalEtcdServer implements EtcdServer {
  readonly external = true;
  readonly dataDir = '';
  readonly pid = undefined;
  readonly running = true;
  readonly clientUrl: string;

  constructor(readonly endpoints: string[]) {
    const first = endpoints[0]!;
    this.clientUrl = first.includes('://') ? first : `http://${first}`;
  }

  private refuse(what: string): UncontrollableServerError {
    return new UncontrollableServerError(
      `cannot ${what}() an etcd from ETCD_ENDPOINTS (${this.endpoints.join(',')}): testkit does not own it. ` +
        'Unset ETCD_ENDPOINTS or pass { useEnv: false } to start a local etcd for this test.',
    );
  }
  stop(): Promise<void> {
    return Promise.reject(this.refuse('stop'));
  }
  kill(): Promise<void> {
    return Promise.reject(this.refuse('kill'));
  }
  restart(): Promise<void> {
    return Promise.reject(this.refuse('restart'));
  }
  pause(): void {
    throw this.refuse('pause');
  }
  resume(): void {
    throw this.refuse('resume');
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Creates the workspace's TLS material when asked for. */
export async function maybeTls(root: string, tls: TlsOptions | undefined): Promise<TlsBundle | undefined> {
  if (!tls) return undefined;
  return createTlsBundle(join(root, 'tls'), { clientCommonName: tls.clientCommonName });
}

/**
 * Starts one etcd for a test: ETCD_ENDPOINTS when set, else the local binary on free
 * loopback ports, else Docker via testcontainers, else EtcdNotFoundError.
 */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdServer> {
  const external = options.useEnv === false ? [] : envEndpoints();
  if (external.length > 0) return new ExternalEtcdServer(external);

  const tls = tlsOptions(options.tls);
  const name = options.name ?? 'etcdkit';
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const args = options.args ?? [];
  const binary = findEtcd();
  if (!binary.path) {
    const docker =
      options.docker === false ? { available: false, reason: 'docker: false' } : await probeDocker();
    if (!docker.available) throw new EtcdNotFoundError(`${binary.tried}; ${docker.reason}`);
  }

  const root = await createWorkspace();
  try {
    const bundle = await maybeTls(root, tls);
    if (!binary.path) {
      return await startContainer({
        name,
        bundle,
        clientCertAuth: tls?.clientCertAuth === true,
        args,
        startTimeoutMs,
        // The client certificate files live in the workspace until close().
        onClose: () => removeWorkspace(root),
      });
    }
    const dataDir = join(root, 'data');
    for (let attempt = 1; ; attempt++) {
      const [clientPort, peerPort] = await freePorts(2);
      const proc = new EtcdProcess({
        bin: binary.path,
        name,
        dataDir,
        clientPort: clientPort!,
        peerPort: peerPort!,
        initialCluster: `${name}=http://${HOST}:${peerPort}`,
        clusterToken: `etcdkit-${randomUUID()}`,
        tls: bundle && {
          caFile: bundle.caFile,
          certFile: bundle.serverCertFile,
          keyFile: bundle.serverKeyFile,
          clientCertAuth: tls?.clientCertAuth === true,
        },
        probeTls: bundle?.client,
        args,
      });
      try {
        await proc.start(startTimeoutMs);
        return new LocalEtcdServer(proc, root, bundle?.client, startTimeoutMs);
      } catch (error) {
        await rm(dataDir, { recursive: true, force: true });
        if (error instanceof PortInUseError && attempt < PORT_ATTEMPTS) continue;
        throw error;
      }
    }
  } catch (error) {
    await removeWorkspace(root);
    throw error;
  }
}
