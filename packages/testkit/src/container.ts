import { TestkitError, UncontrollableServerError } from './errors.js';
import { sleep } from './etcd-process.js';
import type { EtcdServer, RestartOptions } from './etcd-server.js';
import { freePort } from './free-port.js';
import { type HttpTls, isHealthy } from './http.js';
import type { ClientTls, TlsBundle } from './tls.js';

/** A real tag of the official image; any 3.5 behaves like the 3.4 binary for our purposes. */
export const ETCD_IMAGE = 'quay.io/coreos/etcd:v3.5.17';

// The slice of testcontainers we use, typed here so the package stays an optional dependency.
interface StartedContainer {
  getHost(): string;
  stop(options?: { timeout?: number; remove?: boolean }): Promise<unknown>;
  restart(options?: { timeout?: number }): Promise<void>;
}
interface ContainerBuilder {
  withCommand(command: string[]): ContainerBuilder;
  withExposedPorts(...ports: Array<{ container: number; host: number }>): ContainerBuilder;
  withCopyFilesToContainer(files: Array<{ source: string; target: string }>): ContainerBuilder;
  withStartupTimeout(ms: number): ContainerBuilder;
  start(): Promise<StartedContainer>;
}
interface Testcontainers {
  GenericContainer: new (image: string) => ContainerBuilder;
}

async function loadTestcontainers(): Promise<Testcontainers> {
  // A variable specifier keeps tsc and bundlers from requiring the optional package.
  const specifier = 'testcontainers';
  try {
    return (await import(specifier)) as Testcontainers;
  } catch (error) {
    throw new TestkitError(
      `a Docker engine is available but the optional dependency testcontainers could not be loaded: ${String(error)}`,
    );
  }
}

class ContainerEtcdServer implements EtcdServer {
  readonly external = false;
  readonly dataDir = '';
  readonly pid = undefined;
  private closing: Promise<void> | undefined;
  private up = true;
  readonly endpoints: string[];

  constructor(
    private readonly container: StartedContainer,
    readonly clientUrl: string,
    readonly tls: ClientTls | undefined,
    private readonly timeoutMs: number,
    private readonly onClose: () => Promise<void>,
  ) {
    this.endpoints = [clientUrl.replace(/^http:\/\//, '')];
  }

  get running(): boolean {
    return this.up;
  }

  async stop(): Promise<void> {
    if (!this.up) return;
    await this.container.stop({ timeout: 10_000, remove: false });
    this.up = false;
  }

  async kill(): Promise<void> {
    if (!this.up) return;
    await this.container.stop({ timeout: 0, remove: false });
    this.up = false;
  }

  async restart(options: RestartOptions = {}): Promise<void> {
    await this.container.restart({ timeout: 10_000 });
    this.up = true;
    await waitHealthy(this.clientUrl, this.tls, options.timeoutMs ?? this.timeoutMs);
  }

  pause(): void {
    throw new UncontrollableServerError('pause() is not supported for an etcd started in Docker');
  }

  resume(): void {
    throw new UncontrollableServerError('resume() is not supported for an etcd started in Docker');
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.container.stop({ timeout: 0, remove: true });
      } finally {
        this.up = false;
        await this.onClose();
      }
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

async function waitHealthy(clientUrl: string, tls: HttpTls | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await isHealthy(clientUrl, tls))) {
    if (Date.now() > deadline)
      throw new TestkitError(`etcd container at ${clientUrl} not healthy after ${timeoutMs}ms`);
    await sleep(100);
  }
}

/** Starts etcd in Docker via testcontainers, on a fixed host port so restart() keeps the endpoint. */
export async function startContainer(options: {
  name: string;
  bundle: TlsBundle | undefined;
  clientCertAuth: boolean;
  args: readonly string[];
  startTimeoutMs: number;
  onClose: () => Promise<void>;
}): Promise<EtcdServer> {
  const { GenericContainer } = await loadTestcontainers();
  const hostPort = await freePort();
  const { bundle } = options;
  const scheme = bundle ? 'https' : 'http';
  // biome-ignore format: flag/value pairs read best side by side
  const command = [
    '/usr/local/bin/etcd',
    '--name', options.name,
    '--data-dir', '/etcd-data',
    '--listen-client-urls', `${scheme}://0.0.0.0:2379`,
    '--advertise-client-urls', `${scheme}://127.0.0.1:${hostPort}`,
    '--listen-peer-urls', 'http://0.0.0.0:2380',
    '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
    '--initial-cluster', `${options.name}=http://127.0.0.1:2380`,
    '--log-level', 'error',
  ];
  let builder = new GenericContainer(ETCD_IMAGE)
    .withExposedPorts({ container: 2379, host: hostPort })
    .withStartupTimeout(options.startTimeoutMs);
  if (bundle) {
    command.push('--cert-file', '/tls/server.crt', '--key-file', '/tls/server.key');
    // etcd requires a client certificate whenever --trusted-ca-file is set (see etcd-process.ts).
    if (options.clientCertAuth) command.push('--trusted-ca-file', '/tls/ca.crt', '--client-cert-auth');
    builder = builder.withCopyFilesToContainer([
      { source: bundle.serverCertFile, target: '/tls/server.crt' },
      { source: bundle.serverKeyFile, target: '/tls/server.key' },
      { source: bundle.caFile, target: '/tls/ca.crt' },
    ]);
  }
  let container: StartedContainer;
  try {
    container = await builder.withCommand([...command, ...options.args]).start();
  } catch (error) {
    throw new TestkitError(`starting etcd in Docker (${ETCD_IMAGE}) failed: ${String(error)}`, {
      cause: error,
    });
  }
  const clientUrl = `${scheme}://${container.getHost()}:${hostPort}`;
  const server = new ContainerEtcdServer(
    container,
    clientUrl,
    bundle?.client,
    options.startTimeoutMs,
    options.onClose,
  );
  try {
    await waitHealthy(clientUrl, bundle?.client, options.startTimeoutMs);
  } catch (error) {
    await server.close();
    throw error;
  }
  return server;
}
