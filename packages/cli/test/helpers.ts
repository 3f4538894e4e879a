import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Etcd } from '@etcdkit/core';
import { type EtcdServer, startEtcd } from '@etcdkit/testkit';
import { afterAll, beforeAll } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const LOCK_DIR = fileURLToPath(new URL('../.build-lock', import.meta.url));

/**
 * Build the CLI (and the packages it imports) with `tsc -b`, so the tests run the real
 * `dist/bin.js` as a user would. Test files run in parallel: a lock directory keeps two builds
 * from writing the same files at once.
 */
export async function ensureBuilt(): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      break;
    } catch {
      try {
        // A lock left by a killed run is stale after two minutes.
        if (Date.now() - statSync(LOCK_DIR).mtimeMs > 120_000) rmdirSync(LOCK_DIR);
      } catch {
        // removed meanwhile
      }
      if (Date.now() > deadline) throw new Error(`could not take the build lock ${LOCK_DIR}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const run = promisify(execFile);
  try {
    await run('npx', ['tsc', '-b', 'packages/cli'], { cwd: root });
  } catch (err) {
    // A dependency that does not compile right now still has its last build in dist: build
    // the CLI alone against those, so the CLI's own tests can run.
    try {
      await run('npx', ['tsc', '-p', 'packages/cli'], { cwd: root });
    } catch (own) {
      const e = own as { stdout?: string; stderr?: string };
      const b = err as { stdout?: string; stderr?: string };
      throw new Error(
        `tsc -p packages/cli failed:\n${e.stdout ?? ''}${e.stderr ?? ''}\n(tsc -b said:\n${b.stdout ?? ''})`,
      );
    }
  } finally {
    rmdirSync(LOCK_DIR);
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
}

function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The tests pass --endpoints; an inherited ETCD_ENDPOINTS must not change what they mean.
  delete env.ETCD_ENDPOINTS;
  delete env.ETCDKIT_PASSWORD;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

const running = new Set<ChildProcess>();

/** A running `etcdkit` with helpers to follow its output. */
export interface SpawnedCli {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Complete stdout lines so far. */
  lines(): string[];
  /** The first stdout line matching `re` (already printed or to come). */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when it exits by itself. */
  exited: Promise<CliResult>;
  kill(signal?: NodeJS.Signals): Promise<CliResult>;
}

export function spawnCli(args: readonly string[], options: RunOptions = {}): SpawnedCli {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: cliEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  child.stdin!.on('error', () => {});
  if (options.input !== undefined) child.stdin!.end(options.input);
  const exited = new Promise<CliResult>((resolve) => {
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  const describe = () => `etcdkit ${args.join(' ')}\nstdout: ${out}\nstderr: ${err}`;
  return {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    lines: () => out.split('\n').slice(0, -1),
    exited,
    waitForLine(re, timeoutMs = 20_000) {
      return new Promise<string>((resolve, reject) => {
        let done = false;
        const find = (): string | undefined =>
          out
            .split('\n')
            .slice(0, -1)
            .find((l) => re.test(l));
        const finish = (f: () => void): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          child.stdout!.off('data', onData);
          f();
        };
        const onData = (): void => {
          const line = find();
          if (line !== undefined) finish(() => resolve(line));
        };
        const timer = setTimeout(
          () =>
            finish(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms\n${describe()}`))),
          timeoutMs,
        );
        child.stdout!.on('data', onData);
        void exited.then(() => {
          const line = find();
          finish(() =>
            line !== undefined
              ? resolve(line)
              : reject(new Error(`exited before printing ${re}\n${describe()}`)),
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
}

/** Run `etcdkit` to completion. */
export async function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const c = spawnCli(args, options);
  if (options.input === undefined) c.child.stdin!.end();
  const timer = setTimeout(() => c.child.kill('SIGKILL'), 60_000);
  try {
    return await c.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Kill whatever a test left running. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('close', () => resolve());
          c.kill('SIGKILL');
        }),
    ),
  );
}

/** Errors are one line, `etcdkit: ...`, without a stack trace. */
export function expectOneLineError(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l !== '');
  if (lines.length !== 1) throw new Error(`expected one line on stderr, got ${lines.length}:\n${stderr}`);
  const line = lines[0]!;
  if (!line.startsWith('etcdkit: ')) throw new Error(`expected "etcdkit: ..." on stderr, got: ${line}`);
  if (/\n\s+at /.test(stderr) || /\bat .*\.(js|ts):\d+/.test(stderr))
    throw new Error(`stack trace on stderr:\n${stderr}`);
  return line;
}

/** One etcd and a client for the test file; the CLI is built first. */
export function useEtcd() {
  const ctx = {
    server: undefined as unknown as EtcdServer,
    etcd: undefined as unknown as Etcd,
    /** `--endpoints <server>` for the CLI. */
    get flags(): string[] {
      return ['--endpoints', ctx.server.endpoints.join(',')];
    },
  };
  beforeAll(async () => {
    const [server] = await Promise.all([startEtcd({ useEnv: false }), ensureBuilt()]);
    ctx.server = server;
    ctx.etcd = new Etcd({ endpoints: server.endpoints });
  }, 180_000);
  afterAll(async () => {
    await killAll();
    await ctx.etcd?.close();
    await ctx.server?.close();
  });
  return ctx;
}

/** Resolves once `prefix` holds at least `n` keys: read, then watch (no polling). */
export async function untilKeys(etcd: Etcd, prefix: string, n: number): Promise<string[]> {
  for (;;) {
    const r = await etcd.range({ prefix, keysOnly: true, sort: { target: 'create', order: 'ascend' } });
    if (r.kvs.length >= n) return r.kvs.map((kv) => kv.key.toString());
    const w = etcd.watch({ prefix, startRevision: r.revision + 1n });
    try {
      for await (const _ of w) break;
    } finally {
      w.close();
    }
  }
}

/** Resolves once `prefix` holds fewer than `n` keys. */
export async function untilFewerKeys(etcd: Etcd, prefix: string, n: number): Promise<string[]> {
  for (;;) {
    const r = await etcd.range({ prefix, keysOnly: true, sort: { target: 'create', order: 'ascend' } });
    if (r.kvs.length < n) return r.kvs.map((kv) => kv.key.toString());
    const w = etcd.watch({ prefix, startRevision: r.revision + 1n });
    try {
      for await (const _ of w) break;
    } finally {
      w.close();
    }
  }
}

let counter = 0;
/** A name unique to one test. */
export function uniq(name: string): string {
  counter++;
  return `${name}-${process.pid}-${counter}`;
}
