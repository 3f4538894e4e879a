import { type ChildProcess, spawn } from 'node:child_process';
import { AbortError, type Etcd, SessionExpiredError } from '@etcdkit/core';
import { type LockEntry, LockReleasedError, LockTimeoutError, Mutex } from '@etcdkit/lock';
import { type Command, type Invocation, required } from '../command.js';
import { parseDuration, parseTtl } from '../durations.js';
import { CliError, EXIT_OK, UsageError } from '../errors.js';
import { toJson } from '../output.js';
import { signalExitCode, Termination, untilAborted } from '../signals.js';

const HELP = `Usage: etcdkit lock <name> [--ttl <time>] [--timeout <time>] [--grace <time>] [-- <command...>]
       etcdkit lock --inspect <name>

Run <command> while holding the distributed lock <name>, then release it. The command gets
ETCDKIT_LOCK_KEY (the lock key) and ETCDKIT_FENCING_TOKEN (a number that grows with every new
owner: pass it to what the lock protects so it can refuse an older owner) in its environment,
and etcdkit exits with the command's exit code (128 + n when it was ended by signal n).
SIGINT and SIGTERM are forwarded to the command; the lock is released when it exits.

If the lock is lost while the command runs (the session expired because etcd could not be
reached in time, or the key was deleted), the command gets SIGTERM, then SIGKILL after the
grace period, and etcdkit exits with 1. Without a command, etcdkit holds the lock until it
gets SIGINT or SIGTERM.

The lock uses the key layout of etcd's own locks: it excludes \`etcdctl lock <name>\` and Go
services using concurrency.Mutex.

With --inspect, nothing is locked: etcdkit shows who holds <name> (key, lease, fencing token)
and who waits for it, in the order they will get it, read once from etcd.

On a terminal, stderr shows who holds the lock while etcdkit waits for it.

Options:
  --inspect           show the holder and the waiters of <name> instead of locking
  --ttl <time>        session TTL: how long the lock outlives a crashed etcdkit (default 10s)
  --timeout <time>    give up (exit 1) when the lock is not acquired within <time> (default: wait)
  --grace <time>      after SIGTERM to a command whose lock was lost, wait this long before SIGKILL (default 10s)

Examples:
  etcdkit lock nightly-report -- ./make-report.sh
  etcdkit lock db-migrate --timeout 30s -- npm run migrate
  etcdkit lock --inspect db-migrate`;

type Exit = { code: number | null; signal: NodeJS.Signals | null } | { error: NodeJS.ErrnoException };

function whyLost(reason: unknown): string {
  if (reason instanceof SessionExpiredError)
    return 'its session expired: etcd was not reached in time to renew it';
  if (reason instanceof LockReleasedError) return `its key ${reason.key} was deleted`;
  return reason instanceof Error ? reason.message : String(reason);
}

function exitCodeOfChild(exit: { code: number | null; signal: NodeJS.Signals | null }): number {
  if (exit.code !== null) return exit.code;
  return exit.signal ? signalExitCode(exit.signal) : 1;
}

/** --inspect: one read of the lock's queue; nothing is acquired. */
async function inspect(inv: Invocation): Promise<number> {
  const name = required(inv, 0, 'a lock name: etcdkit lock --inspect <name>');
  if (inv.rest !== undefined || inv.positionals.length > 1)
    throw new UsageError('--inspect takes only a lock name, no command', 'lock');
  const q = await Mutex.inspect(inv.client(), name);
  const holder = q.holders[0];
  const entry = (e: LockEntry) => ({
    key: e.key,
    lease: e.lease,
    leaseHex: e.lease.toString(16),
    createRevision: e.createRevision,
  });
  if (inv.json) {
    inv.out.line(
      toJson({
        name,
        revision: q.revision,
        holder: holder ? entry(holder) : null,
        waiters: q.waiters.map(entry),
      }),
    );
    return EXIT_OK;
  }
  if (!holder) {
    inv.out.line(`lock ${JSON.stringify(name)} is free: nobody holds it or waits for it`);
    return EXIT_OK;
  }
  inv.out.line(
    `lock ${JSON.stringify(name)} is held by ${holder.key} (lease ${holder.lease.toString(16)}, fencing token ${holder.createRevision})`,
  );
  if (q.waiters.length === 0) inv.out.line('nobody waits');
  else {
    inv.out.line(`${q.waiters.length} waiting, in the order they will get it:`);
    for (const [i, w] of q.waiters.entries())
      inv.out.line(
        `  ${i + 1}. ${w.key} (lease ${w.lease.toString(16)}, queued at revision ${w.createRevision})`,
      );
  }
  return EXIT_OK;
}

async function run(inv: Invocation): Promise<number> {
  if (inv.values.inspect) return inspect(inv);
  const name = required(inv, 0, 'a lock name: etcdkit lock <name> -- <command...>');
  const command = inv.rest ?? inv.positionals.slice(1);
  if (inv.rest && inv.positionals.length > 1)
    throw new UsageError(
      `unexpected argument ${JSON.stringify(inv.positionals[1])}: put the whole command after --`,
      'lock',
    );
  if (inv.rest && inv.rest.length === 0) throw new UsageError('no command after --', 'lock');
  const ttl = parseTtl((inv.values.ttl as string | undefined) ?? '10', 'ttl', 'lock');
  const timeout = inv.values.timeout as string | undefined;
  const timeoutMs = timeout === undefined ? undefined : parseDuration(timeout, 'timeout', 'lock');
  const graceMs = parseDuration((inv.values.grace as string | undefined) ?? '10', 'grace', 'lock');

  let child: ChildProcess | undefined;
  // Until the command runs, a signal stops waiting; afterwards it goes to the command.
  using term = new Termination({ onSignal: (sig) => child?.kill(sig) });
  const etcd = inv.client();
  const interrupted = (): number => signalExitCode(term.received ?? 'SIGINT');

  let session: Awaited<ReturnType<typeof etcd.session>>;
  try {
    session = await etcd.session({ ttl, signal: term.signal });
  } catch (err) {
    if (term.signal.aborted) return interrupted();
    throw err;
  }
  try {
    const m = new Mutex(session, name);
    const waited = new AbortController();
    const shown = showHolder(inv, etcd, name, m.key, waited.signal);
    try {
      await m.lock({ signal: term.signal, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
    } catch (err) {
      if (err instanceof AbortError && term.signal.aborted) return interrupted();
      if (err instanceof LockTimeoutError && err.reason === 'lock-wait')
        throw new CliError(
          `lock ${JSON.stringify(name)} is held by someone else and was not acquired within ${timeout} (--timeout); try again later`,
          { cause: err },
        );
      throw err;
    } finally {
      waited.abort();
      await shown;
    }
    const lost = m.signal;
    if (term.signal.aborted) {
      await m.unlock();
      return interrupted();
    }
    const token = m.fencingToken;
    if (command.length === 0) return await hold(inv, m, lost, term, name);

    const env = { ...process.env, ETCDKIT_LOCK_KEY: m.key, ETCDKIT_FENCING_TOKEN: token.toString() };
    const exited = new Promise<Exit>((resolve) => {
      const c = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env });
      child = c;
      c.once('exit', (code, signal) => resolve({ code, signal }));
      c.once('error', (error) => {
        // 'error' after a successful spawn only reports a failed kill(): the exit still comes.
        if (c.pid === undefined) resolve({ error });
      });
    });
    let lostReason: unknown;
    let killTimer: NodeJS.Timeout | undefined;
    const onLost = (): void => {
      lostReason = lost.reason;
      child?.kill('SIGTERM');
      killTimer = setTimeout(() => child?.kill('SIGKILL'), graceMs);
    };
    lost.addEventListener('abort', onLost, { once: true });
    const exit = await exited;
    lost.removeEventListener('abort', onLost);
    clearTimeout(killTimer);
    if ('error' in exit) {
      await m.unlock();
      const notFound = exit.error.code === 'ENOENT';
      throw new CliError(
        `cannot run ${JSON.stringify(command[0])}: ${notFound ? 'command not found' : exit.error.message}`,
        { cause: exit.error, exitCode: notFound ? 127 : 126 },
      );
    }
    if (lostReason !== undefined)
      throw new CliError(
        `lock ${JSON.stringify(name)} was lost while the command ran (${whyLost(lostReason)}); the command was stopped`,
        { cause: lostReason },
      );
    try {
      await m.unlock();
    } catch (err) {
      if (err instanceof LockReleasedError || err instanceof SessionExpiredError)
        throw new CliError(
          `lock ${JSON.stringify(name)} was lost before the command finished (${whyLost(err)}); its work may have overlapped another owner's`,
          { cause: err },
        );
      throw err;
    }
    return exitCodeOfChild(exit);
  } finally {
    await session.close().catch(() => {});
  }
}

/**
 * On a terminal, while lock() waits: who holds the lock, as a progress line kept current by a
 * watch on the lock's keys (each change re-reads the queue). Display only: it never fails the
 * lock, whose own wait reports a lost connection.
 */
async function showHolder(
  inv: Invocation,
  etcd: Etcd,
  name: string,
  ownKey: string,
  signal: AbortSignal,
): Promise<void> {
  const progress = inv.out.progress;
  if (!progress) return;
  const w = etcd.watch({ prefix: `${name}/`, signal });
  try {
    await w.ready;
    const batches = w.batches()[Symbol.asyncIterator]();
    for (;;) {
      const q = await Mutex.inspect(etcd, name, { signal });
      const holder = q.holders[0];
      if (holder && holder.key !== ownKey)
        progress(`waiting for lock held by ${holder.key} (lease ${holder.lease.toString(16)})…`);
      else progress('');
      if ((await batches.next()).done) return;
    }
  } catch {
    // Aborted once lock() settled, or the connection failed: lock() reports that itself.
  } finally {
    w.close();
    progress('');
  }
}

/** No command: hold the lock until a signal, like `etcdctl lock <name>`. */
async function hold(
  inv: Invocation,
  m: Mutex,
  lost: AbortSignal,
  term: Termination,
  name: string,
): Promise<number> {
  if (inv.json) inv.out.line(toJson({ event: 'locked', name, key: m.key, fencingToken: m.fencingToken }));
  else inv.out.line(`locked ${m.key} (fencing token ${m.fencingToken}); press Ctrl-C to release`);
  await Promise.race([term.wait(), untilAborted(lost)]);
  if (!term.signal.aborted)
    throw new CliError(`lock ${JSON.stringify(name)} was lost (${whyLost(lost.reason)})`, {
      cause: lost.reason,
    });
  await m.unlock();
  if (inv.json) inv.out.line(toJson({ event: 'released', name, key: m.key }));
  else inv.out.line(`released ${m.key}`);
  return EXIT_OK;
}

export const lock: Command = {
  name: 'lock',
  summary:
    'run a command while holding a distributed lock (interoperates with etcdctl lock); --inspect shows its holder and waiters',
  help: HELP,
  options: {
    inspect: { type: 'boolean' },
    ttl: { type: 'string' },
    timeout: { type: 'string' },
    grace: { type: 'string' },
  },
  run,
};
