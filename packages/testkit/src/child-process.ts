import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from './children.js';
import { TestkitError } from './errors.js';

/**
 * The module hooks that let a plain `node` run etcdkit's TypeScript sources (the file lies next
 * to src/ and dist/, so this path holds for both).
 */
export const TYPESCRIPT_LOADER = fileURLToPath(new URL('../loader/typescript-loader.mjs', import.meta.url));

/** Options of {@link spawnProcess} (and {@link spawnTs}). */
export interface SpawnOptions {
  /**
   * Environment changes over this process's environment: a string sets a variable, undefined
   * removes it.
   */
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed. Without it stdin stays open (see `child.stdin`). */
  input?: string;
  /** Working directory; default: this process's. */
  cwd?: string;
  /** How the process is named in error messages (default: the command line). */
  name?: string;
}

/** How a child process ended, with everything it printed. */
export interface ChildResult {
  /** Exit code; null when a signal ended it. */
  code: number | null;
  /** The signal that ended it; null when it exited. */
  signal: NodeJS.Signals | null;
  /** Everything it wrote to stdout. */
  stdout: string;
  /** Everything it wrote to stderr. */
  stderr: string;
}

/** Options of the waits on a {@link SpawnedProcess}'s output. */
export interface WaitOptions {
  /** Default 20 s. */
  timeoutMs?: number;
  /** Named in the error on timeout (default: the pattern). */
  what?: string;
}

/** A running child process whose output is collected, with waits on what it prints. */
export interface SpawnedProcess {
  /** The Node child process (for stdin, signals, events). */
  readonly child: ChildProcess;
  /** Its process ID. */
  readonly pid: number;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** The complete stdout lines so far. */
  lines(): string[];
  /**
   * The first complete stdout line that `match` accepts, printed already or to come. Rejects
   * when the process exits without printing one, or after `timeoutMs`.
   */
  waitForLine(match: RegExp | ((line: string) => boolean), options?: WaitOptions): Promise<string>;
  /** Settles when the process has exited and its output is read; never rejects. */
  readonly exited: Promise<ChildResult>;
  /** Sends `signal` (default SIGTERM) unless it has exited already; resolves once it has. */
  kill(signal?: NodeJS.Signals): Promise<ChildResult>;
}

const running = new Set<SpawnedProcess>();

/**
 * Spawns `command` with piped stdio. The process is registered with testkit's reaper (killed when
 * this process exits, even by SIGKILL) and with `killChildren()`.
 */
export function spawnProcess(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): SpawnedProcess {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const child = spawn(command, [...args], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  const name = options.name ?? [command, ...args].join(' ');
  let out = '';
  let err = '';
  let spawnError: Error | undefined;
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  // The child may exit before it reads its input.
  child.stdin!.on('error', () => {});
  if (options.input !== undefined) child.stdin!.end(options.input);
  const exited = new Promise<ChildResult>((resolve) => {
    child.once('error', (e) => {
      spawnError = e;
      // A failed spawn emits no 'close' when no stdio stream was opened.
      if (child.pid === undefined) resolve({ code: null, signal: null, stdout: out, stderr: String(e) });
    });
    child.once('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err }));
  });
  const lines = (): string[] => out.split('\n').slice(0, -1);
  const describe = (): string =>
    `${name}\nstdout: ${out}\nstderr: ${err}${spawnError ? `\nspawn error: ${spawnError.message}` : ''}`;

  const spawned: SpawnedProcess = {
    child,
    pid: child.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    lines,
    exited,
    waitForLine(match, { timeoutMs = 20_000, what } = {}) {
      const accepts = typeof match === 'function' ? match : (l: string) => match.test(l);
      const wanted = what ?? String(match);
      return new Promise<string>((resolve, reject) => {
        let done = false;
        const finish = (f: () => void): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          child.stdout!.off('data', onData);
          f();
        };
        const onData = (): void => {
          const line = lines().find(accepts);
          if (line !== undefined) finish(() => resolve(line));
        };
        const timer = setTimeout(
          () =>
            finish(() =>
              reject(new TestkitError(`no output line for ${wanted} within ${timeoutMs} ms\n${describe()}`)),
            ),
          timeoutMs,
        );
        child.stdout!.on('data', onData);
        void exited.then(() => {
          const line = lines().find(accepts);
          finish(() =>
            line !== undefined
              ? resolve(line)
              : reject(new TestkitError(`exited before printing ${wanted}\n${describe()}`)),
          );
        });
        onData();
      });
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  track(child);
  running.add(spawned);
  void exited.then(() => running.delete(spawned));
  return spawned;
}

/** Options of {@link spawnTs}. */
export interface SpawnTsOptions extends SpawnOptions {
  /** Extra node flags, before the loader (e.g. ['--enable-source-maps']). */
  nodeArgs?: readonly string[];
}

/**
 * Runs a TypeScript (or JavaScript) file in a new `node` process through testkit's TypeScript
 * loader, so the file and the workspace packages it imports run from their sources.
 */
export function spawnTs(
  file: string | URL,
  args: readonly string[] = [],
  options: SpawnTsOptions = {},
): SpawnedProcess {
  const path = file instanceof URL || file.startsWith('file:') ? fileURLToPath(file) : file;
  return spawnProcess(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', TYPESCRIPT_LOADER, path, ...args],
    { name: `node ${path} ${args.join(' ')}`.trim(), ...options },
  );
}

/** SIGKILLs every process started by spawnProcess/spawnTs that still runs, and waits for them. */
export async function killChildren(): Promise<void> {
  await Promise.all([...running].map((c) => c.kill('SIGKILL')));
}
