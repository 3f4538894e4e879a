import { type ChildProcess, spawn } from 'node:child_process';
import type { Writable } from 'node:stream';

/**
 * Every process testkit spawns is registered here so none outlives the test process:
 *  - on a normal exit, the 'exit' hook SIGKILLs them synchronously;
 *  - when this process is killed outright (SIGKILL of a test worker), no hook runs, so a
 *    watchdog `sh` holds the read end of a pipe from us: when we die the pipe hits EOF and
 *    the watchdog SIGKILLs every pid still registered. One watchdog serves all children;
 *    pids are removed when their process exits, so a recycled pid is never killed.
 */
const live = new Set<ChildProcess>();
let watchdog: { child: ChildProcess; stdin: Writable } | undefined;
let exitHookInstalled = false;

// Plain POSIX sh, no external commands: it must work wherever etcd does.
const WATCHDOG_SCRIPT = `
pids=" "
while read -r cmd pid; do
  case "$cmd" in
    add) pids="$pids$pid " ;;
    del) rest=" "; for p in $pids; do [ "$p" = "$pid" ] || rest="$rest$p "; done; pids=$rest ;;
  esac
done
for p in $pids; do kill -9 "$p" 2>/dev/null; done
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
    const next = live.size > 0 ? ensureWatchdog() : undefined;
    for (const c of live) if (c.pid !== undefined) next?.write(`add ${c.pid}\n`);
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

/** The watchdog's pid, if one is running. */
export function watchdogPid(): number | undefined {
  return watchdog?.child.pid;
}
