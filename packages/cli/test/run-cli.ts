import { execFile } from 'node:child_process';
import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  type ChildResult,
  type EtcdFixture,
  type SpawnedProcess,
  spawnProcess,
} from '@etcdkit/testkit/vitest';

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

export interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
}

function cliEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  // The tests pass --endpoints; an inherited ETCD_ENDPOINTS (or etcdctl setup) must not change what they mean.
  const etcdctl = Object.fromEntries(
    Object.keys(process.env)
      .filter((k) => k.startsWith('ETCDCTL_'))
      .map((k) => [k, undefined]),
  );
  return { ETCD_ENDPOINTS: undefined, ETCDKIT_PASSWORD: undefined, ...etcdctl, ...extra };
}

/** A running `etcdkit` (the built dist/bin.js), its output collected. */
export function spawnCli(args: readonly string[], options: RunOptions = {}): SpawnedProcess {
  return spawnProcess(process.execPath, [BIN, ...args], {
    env: cliEnv(options.env),
    name: `etcdkit ${args.join(' ')}`,
    ...(options.input === undefined ? {} : { input: options.input }),
  });
}

/** Run `etcdkit` to completion. */
export async function runCli(args: readonly string[], options: RunOptions = {}): Promise<ChildResult> {
  const c = spawnCli(args, options);
  if (options.input === undefined) c.child.stdin!.end();
  const timer = setTimeout(() => c.child.kill('SIGKILL'), 60_000);
  try {
    return await c.exited;
  } finally {
    clearTimeout(timer);
  }
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

/** `--endpoints <the fixture's endpoints>` for the CLI. */
export function flags(t: EtcdFixture): string[] {
  return ['--endpoints', t.endpoints.join(',')];
}

/** `word` quoted for sh. */
function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A running `etcdkit` on a pseudo-terminal (util-linux `script`), as a user at a terminal runs
 * it: its stdout and stderr both go to the terminal, which `script` copies to its own stdout.
 */
export function spawnCliOnTty(args: readonly string[], options: RunOptions = {}): SpawnedProcess {
  // A terminal of a known width: `script` without one of its own makes a 0×0 one (80 columns).
  const command = `stty cols 200 rows 50; exec ${[process.execPath, BIN, ...args].map(shellQuote).join(' ')}`;
  return spawnProcess('script', ['-qec', command, '/dev/null'], {
    env: { TERM: 'xterm', ...cliEnv(options.env) },
    name: `etcdkit ${args.join(' ')} (on a terminal)`,
  });
}
