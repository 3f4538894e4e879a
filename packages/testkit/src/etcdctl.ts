import { type ChildProcess, spawn } from 'node:child_process';
import { cleanEnv, findEtcdctl } from './binaries.js';
import { track } from './children.js';
import { EtcdNotFoundError, TestkitError } from './errors.js';

/** TLS files for etcdctl; an EtcdServer's or EtcdCluster's `tls` fits. */
export interface EtcdctlTls {
  /** The CA certificate file (`--cacert`). */
  caFile: string;
  /** The client certificate file (`--cert`). */
  certFile?: string;
  /** The client key file (`--key`). */
  keyFile?: string;
}

/** Options of {@link etcdctl} and {@link spawnEtcdctl}. */
export interface EtcdctlOptions {
  /** Passed as --endpoints; an EtcdServer or EtcdCluster can be passed as the options object. */
  endpoints: readonly string[];
  /** Adds --cacert/--cert/--key. */
  tls?: EtcdctlTls;
  /** Extra environment, e.g. { ETCDCTL_USER: 'root:pw' }. ETCDCTL_API is always 3. */
  env?: Record<string, string>;
  /** Written to stdin, then stdin is closed (e.g. for `txn`). */
  input?: string;
  /** Kill etcdctl (SIGKILL) after this long; default 15 s for etcdctl(), none for spawnEtcdctl(). */
  timeoutMs?: number;
}

/** How an etcdctl run ended, with its output. */
export interface EtcdctlResult {
  /** Everything it wrote to stdout. */
  stdout: string;
  /** Everything it wrote to stderr. */
  stderr: string;
  /** Exit code; null when killed by a signal (e.g. on timeout). */
  code: number | null;
  /** The signal that ended it; null when it exited. */
  signal: NodeJS.Signals | null;
}

function launch(args: readonly string[], opts: EtcdctlOptions): ChildProcess {
  const bin = findEtcdctl();
  if (!bin.path) throw new EtcdNotFoundError(bin.tried);
  const flags = [`--endpoints=${opts.endpoints.join(',')}`];
  if (opts.tls) {
    flags.push(`--cacert=${opts.tls.caFile}`);
    if (opts.tls.certFile) flags.push(`--cert=${opts.tls.certFile}`);
    if (opts.tls.keyFile) flags.push(`--key=${opts.tls.keyFile}`);
  }
  const child = spawn(bin.path, [...flags, ...args], {
    // Inherited ETCDCTL_* (ETCDCTL_ENDPOINTS...) would conflict with our flags.
    env: { ...cleanEnv('ETCDCTL_'), ...opts.env, ETCDCTL_API: '3' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  track(child);
  child.stdin?.on('error', () => {}); // etcdctl may exit before reading its input
  child.stdin?.end(opts.input);
  return child;
}

/** Runs etcdctl (v3 API) to completion; a non-zero exit is returned, not thrown. */
export async function etcdctl(args: readonly string[], opts: EtcdctlOptions): Promise<EtcdctlResult> {
  const child = launch(args, opts);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => stdout.push(c));
  child.stderr?.on('data', (c: Buffer) => stderr.push(c));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      // 'close' rather than 'exit': all output has been read by then.
      child.once('close', (c, s) => resolve([c, s]));
    });
    return {
      stdout: Buffer.concat(stdout).toString(),
      stderr: Buffer.concat(stderr).toString(),
      code,
      signal,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** A long-running etcdctl (lock, elect, watch) with helpers to follow its output. */
export interface SpawnedEtcdctl {
  /** The etcdctl child process. */
  readonly child: ChildProcess;
  /** Resolves with the first stdout line matching `re` (already printed or to come). */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Send `signal` (default SIGTERM, on which lock/elect release) and resolve with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** All stdout so far. */
  output(): string;
  /** All stderr so far. */
  errors(): string;
  /** Resolves with the exit code when it exits by itself. */
  readonly exited: Promise<number | null>;
}

/** Starts etcdctl and returns at once; the process is tracked and killed with the test process. */
export function spawnEtcdctl(args: readonly string[], opts: EtcdctlOptions): SpawnedEtcdctl {
  const child = launch(args, opts);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  // Nobody may await it; an unhandled exit must not be an error.
  exited.catch(() => {});
  const timer =
    opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
  void exited.then(() => clearTimeout(timer));

  const describe = (): string => `etcdctl ${args.join(' ')}\nstdout: ${stdout}\nstderr: ${stderr}`;

  return {
    child,
    exited,
    output: () => stdout,
    errors: () => stderr,
    waitForOutput(re, timeoutMs = 10_000) {
      // Complete lines only, unless the process has ended.
      const find = (all: boolean): string | undefined => {
        const lines = stdout.split('\n');
        if (!all) lines.pop();
        return lines.find((line) => re.test(line));
      };
      return new Promise<string>((resolve, reject) => {
        let settled = false;
        let timer: NodeJS.Timeout | undefined;
        const finish = (settle: () => void): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          settle();
        };
        const onData = (): void => {
          const line = find(false);
          if (line !== undefined) finish(() => resolve(line));
        };
        timer = setTimeout(() => {
          finish(() =>
            reject(new TestkitError(`no output matching ${re} within ${timeoutMs}ms\n${describe()}`)),
          );
        }, timeoutMs);
        child.stdout?.on('data', onData);
        void exited.then((code) => {
          const line = find(true);
          finish(() =>
            line !== undefined
              ? resolve(line)
              : reject(
                  new TestkitError(`etcdctl exited (code ${code}) before printing ${re}\n${describe()}`),
                ),
          );
        });
        onData();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
