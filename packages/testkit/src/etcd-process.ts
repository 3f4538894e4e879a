import { type ChildProcess, spawn } from 'node:child_process';
import { cleanEnv } from './binaries.js';
import { track } from './children.js';
import { EtcdStartError, PortInUseError, TestkitError } from './errors.js';
import { answersAs, type HttpTls, isHealthy, isListening } from './http.js';
import { LogTail } from './log-tail.js';

export const HOST = '127.0.0.1';

/** Server-side TLS files for one etcd process. */
export interface ServerTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  clientCertAuth: boolean;
}

export interface EtcdProcessConfig {
  bin: string;
  name: string;
  dataDir: string;
  clientPort: number;
  peerPort: number;
  /** `name=peerUrl,...` of the initial members; ignored by etcd once the data dir exists. */
  initialCluster: string;
  clusterToken: string;
  tls: ServerTlsFiles | undefined;
  /** Client material for our own health probes. */
  probeTls: HttpTls | undefined;
  /** Appended last, so they override ours (etcd keeps the last value of a repeated flag). */
  args: readonly string[];
}

/**
 * What "serving" means when waiting after a (re)start.
 *
 * @inline
 */
export type WaitFor = 'health' | 'listening';

const POLL_MS = 50;
const STOP_GRACE_MS = 5000;

/** One etcd process on fixed ports and data dir, which can be stopped and started again. */
export class EtcdProcess {
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly log = new LogTail(40);
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private paused = false;

  constructor(readonly config: EtcdProcessConfig) {
    const scheme = config.tls ? 'https' : 'http';
    this.clientUrl = `${scheme}://${HOST}:${config.clientPort}`;
    this.peerUrl = `http://${HOST}:${config.peerPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  private flags(): string[] {
    const c = this.config;
    // biome-ignore format: flag/value pairs read best side by side
    const flags = [
      '--name', c.name,
      '--data-dir', c.dataDir,
      '--listen-client-urls', this.clientUrl,
      '--advertise-client-urls', this.clientUrl,
      '--listen-peer-urls', this.peerUrl,
      '--initial-advertise-peer-urls', this.peerUrl,
      '--initial-cluster', c.initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', c.clusterToken,
      // Fast elections so failover tests take well under a second; loopback has no latency.
      '--heartbeat-interval', '50',
      '--election-timeout', '500',
      // A member back from kill/pause must not depose a healthy leader (3.5's default; 3.4 needs it said).
      '--pre-vote=true',
      '--logger', 'zap',
      '--log-outputs', 'stderr',
      '--log-level', 'error',
    ];
    if (c.tls) {
      flags.push('--cert-file', c.tls.certFile, '--key-file', c.tls.keyFile);
      // etcd 3.4 requires a client certificate whenever --trusted-ca-file is set, whatever
      // --client-cert-auth says: the CA is only given when client certificates are wanted.
      if (c.tls.clientCertAuth) flags.push('--trusted-ca-file', c.tls.caFile, '--client-cert-auth');
    }
    return [...flags, ...c.args];
  }

  /** Spawns etcd and resolves once it serves; on failure the process is gone and the error carries its log. */
  async start(timeoutMs: number, waitFor: WaitFor = 'health'): Promise<void> {
    if (this.child) throw new TestkitError(`etcd member ${this.config.name} is already running`);
    this.log.clear();
    const child = spawn(this.config.bin, this.flags(), {
      // Unrelated ETCD_* variables (ETCD_ENDPOINTS, ETCD_BIN...) would be read as flags or warned about.
      env: cleanEnv('ETCD_', ['ETCD_UNSUPPORTED_ARCH']),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let exitInfo = 'unknown';
    this.exited = new Promise<void>((resolve) => {
      const gone = (info: string): void => {
        exitInfo = info;
        if (this.child === child) {
          this.child = undefined;
          this.paused = false;
        }
        resolve();
      };
      child.once('exit', (code, signal) => gone(signal ? `signal ${signal}` : `code ${code}`));
      // A failed spawn (binary vanished, not executable) emits 'error' and never 'exit'.
      child.once('error', (error) => gone(error.message));
    });
    child.stdout?.on('data', (c: Buffer) => this.log.push(c));
    child.stderr?.on('data', (c: Buffer) => this.log.push(c));
    this.child = child;
    this.paused = false;
    track(child);

    const probe = waitFor === 'health' ? isHealthy : isListening;
    const deadline = Date.now() + timeoutMs;
    let gone = false;
    const exited = this.exited.then(() => {
      gone = true;
    });
    while (!gone) {
      const tls = this.config.probeTls;
      if ((await probe(this.clientUrl, tls)) && (await answersAs(this.clientUrl, this.peerUrl, tls))) return;
      if (Date.now() > deadline) {
        await this.kill();
        throw new EtcdStartError(
          `etcd member ${this.config.name} did not become ${waitFor === 'health' ? 'healthy' : 'reachable'} ` +
            `at ${this.clientUrl} within ${timeoutMs}ms`,
          this.log.text(),
        );
      }
      await Promise.race([exited, sleep(POLL_MS)]);
    }
    const log = this.log.text();
    if (/address already in use/i.test(log)) {
      throw new PortInUseError(`etcd member ${this.config.name} could not bind its ports`, log);
    }
    throw new EtcdStartError(`etcd member ${this.config.name} exited during startup (${exitInfo})`, log);
  }

  /** SIGTERM (SIGKILL after a grace period) and wait for exit; no-op when not running. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return this.exited;
    child.kill('SIGTERM');
    // A stopped process only sees SIGTERM once continued.
    if (this.paused) child.kill('SIGCONT');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL and wait for exit; no-op when not running. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  pause(): void {
    this.requireRunning('pause').kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    this.requireRunning('resume').kill('SIGCONT');
    this.paused = false;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  private requireRunning(what: string): ChildProcess {
    const child = this.child;
    if (!child) throw new TestkitError(`cannot ${what} etcd member ${this.config.name}: it is not running`);
    return child;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
