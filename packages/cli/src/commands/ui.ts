import { spawn } from 'node:child_process';
import { type Command, type Invocation, noMore } from '../command.js';
import { parseDuration } from '../durations.js';
import { EXIT_OK, UsageError } from '../errors.js';
import { toJson } from '../output.js';
import { Termination } from '../signals.js';
import { UiServer } from '../ui/server.js';

const HELP = `Usage: etcdkit ui [--port <n>] [--host <addr>] [--open] [--prefix <prefix>] [--allow-writes]

A live coordination inspector in the browser. Serves one page and a live event stream on
http://<host>:<port>/; the connection to etcd (and its credentials) stay in this process.
Runs until SIGINT or SIGTERM.

Views: Locks (Mutex, RWMutex and Semaphore queues as etcdctl, Go and etcdkit write them:
holder, fencing token, waiters in order, lease TTLs), Elections (leader, proposal, candidates,
leader changes), Sessions (leases with TTL, their keys, what they hold), Config (the key tree
with decoded values and the last changes with their diffs), Cluster (what \`etcdkit status\`
shows), Discovery (services and instances) and Queues (Queue and WorkQueue items and claims).

Keys are followed with one watch (no gap between the first read and the watch); cluster status
and the list of leases are read every --refresh while a page is open, as etcd cannot watch them.

Options:
  --port <n>          port to listen on (default 2390; 0 picks a free one)
  --host <addr>       address to listen on (default 127.0.0.1; the page shows your keys)
  --open              open the page in the default browser
  --prefix <prefix>   follow only the keys under <prefix> (default: the whole keyspace)
  --allow-writes      enable two operator actions, each confirmed on the page: delete a
                      waiter's key from a lock queue, and revoke a lease
  --changes <n>       how many recent changes the Config view keeps (default 200)
  --refresh <time>    how often cluster status and the lease list are read (default 2s)

With --json, the address is printed as {"url":"http://..."}.

Examples:
  etcdkit ui --open
  etcdkit ui --endpoints 10.0.0.1:2379 --prefix /prod/ --port 8080
  ssh -L 2390:127.0.0.1:2390 ops-host etcdkit ui        # then open http://127.0.0.1:2390/`;

function parseCount(text: string | undefined, flag: string, dflt: number, min: number, max: number): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(
      `--${flag} takes a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`,
      'ui',
    );
  return n;
}

function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // No browser opener: the URL is printed anyway.
  }
}

async function run(inv: Invocation): Promise<number> {
  if (inv.rest) throw new UsageError('ui takes no command after --', 'ui');
  noMore(inv, 0);
  const v = inv.values as Record<string, string | boolean | undefined>;
  const port = parseCount(v.port as string | undefined, 'port', 2390, 0, 65535);
  const changes = parseCount(v.changes as string | undefined, 'changes', 200, 1, 100_000);
  const refreshMs = parseDuration((v.refresh as string | undefined) ?? '2s', 'refresh', 'ui');
  if (refreshMs < 100) throw new UsageError('--refresh must be at least 100ms', 'ui');
  const host = (v.host as string | undefined) ?? '127.0.0.1';
  if (host === '') throw new UsageError('--host must not be empty', 'ui');
  const prefix = (v.prefix as string | undefined) ?? '';

  using term = new Termination();
  let lastError = { line: '', at: 0 };
  const server = await UiServer.start({
    etcd: inv.client(),
    prefix,
    host,
    port,
    allowWrites: v['allow-writes'] === true,
    changes,
    refreshMs,
    onError: (err) => {
      // While etcd is away every refresh fails the same way: say it once a minute.
      const line = `etcdkit: ${err.message.replace(/\s*\n\s*/g, ' ')}`;
      const now = Date.now();
      if (line === lastError.line && now - lastError.at < 60_000) return;
      lastError = { line, at: now };
      inv.out.note(line);
    },
  });
  try {
    if (inv.json) inv.out.line(toJson({ url: server.url, writes: v['allow-writes'] === true }));
    else
      inv.out.line(
        `etcdkit ui: ${server.url} (${v['allow-writes'] === true ? 'writes enabled' : 'read-only'}; Ctrl-C stops)`,
      );
    if (v.open === true) openBrowser(server.url);
    await term.wait();
    return EXIT_OK;
  } finally {
    await server.close();
  }
}

export const ui: Command = {
  name: 'ui',
  summary: 'a live coordination inspector in the browser: locks, elections, sessions, config, cluster',
  help: HELP,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    open: { type: 'boolean' },
    prefix: { type: 'string' },
    'allow-writes': { type: 'boolean' },
    changes: { type: 'string' },
    refresh: { type: 'string' },
  },
  run,
};
