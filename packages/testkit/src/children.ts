import { type ChildProcess, spawn } from 'node:child_process';
import type { Writable } from 'node:stream';

/**
 * Every process testkit spawns is registered here so none outlives the test process:
 *  - on a normal exit, the 'exit' hook SIGKILLs them synchronously;
 *  - when this process is killed outright (SIGKILL of a test worker; vitest ends its workers
 *    without running exit hooks), no hook runs, so a watchdog `sh` holds the read end of a
 *    pipe from us: when we die the pipe hits EOF and the watchdog SIGKILLs every pid still
 *    registered, then removes the registered temp dirs (each holds ~100 MB of etcd WAL).
 *    One watchdog serves all children; pids are removed when their process exits, so a
 *    recycled pid is never killed.
 */
const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let watchdog: { child: ChildProcess; stdin: Writable } | undefined;
let exitHookInstalled = false;
// A watchdog that keeps dying (no usable sh) is not respawned forever.
let respawnsLeft = 5;

// Plain POSIX sh (only rm outside builtins): it must work wherever etcd does.
const WATCHDOG_SCRIPT = `
set -f
pids=" "
dirs=" "
while read -r cmd arg; do
  case "$cmd" in
    add) pids="$pids$arg " ;;
    del) rest=" "; for p in $pids; do [ "$p" = "$arg" ] || rest="$rest$p "; done; pids=$rest ;;
    dir) dirs="$dirs$arg " ;;
    undir) rest=" "; for d in $dirs; do [ "$d" = "$arg" ] || rest="$rest$d "; done; dirs=$rest ;;
  esac
done
for p in $pids; do kill -9 "$p" 2>/dev/null; done
for d in $dirs; do rm -rf -- "$d"; done
`;

function ensureWatchdog(): Writable | undefined {
  if (watchdog) return watchdog.stdin;
  let child: ChildProcess;
  try {
    child = spawn('sh', ['-c', WATCHDOG_SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'] });
  } catch {
    return undefined; // no sh: the exit hook still covers normal exits
  }
  const stdin = child.stdin!;
  // Neither the watchdog nor its pipe may keep the event loop (and so the tests) alive.
  child.unref();
  (stdin as Writable & { unref?: () => void }).unref?.();
  stdin.on('error', () => {});
  child.on('error', () => {});
  const current = { child, stdin };
  watchdog = current;
  child.on('exit', () => {
    if (watchdog !== current) return;
    // Replaced on next use; re-register what is still running.
    watchdog = undefined;
    const next = live.size + dirs.size > 0 && respawnsLeft-- > 0 ? ensureWatchdog() : undefined;
    for (const c of live) if (c.pid !== undefined) next?.write(`add ${c.pid}\n`);
    for (const d of dirs) next?.write(`dir ${d}\n`);
  });
  return stdin;
}

function killAllSync(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Registers a freshly spawned child; it is unregistered when it exits. */
export function track(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return; // spawn failed; its 'error' event reports why
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', killAllSync);
  }
  live.add(child);
  ensureWatchdog()?.write(`add ${pid}\n`);
  child.once('exit', () => {
    live.delete(child);
    watchdog?.stdin.write(`del ${pid}\n`);
  });
}

/** The pids of all live children (for diagnostics and tests). */
export function trackedPids(): number[] {
  return [...live].flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
}

/**
 * Registers a temp dir for removal by the watchdog if this process is killed. Paths with
 * whitespace cannot travel through the watchdog's word lists and are skipped.
 */
export function trackDir(path: string): void {
  if (/\s/.test(path) || dirs.has(path)) return;
  dirs.add(path);
  ensureWatchdog()?.write(`dir ${path}\n`);
}

export function untrackDir(path: string): void {
  if (dirs.delete(path)) watchdog?.stdin.write(`undir ${path}\n`);
}
