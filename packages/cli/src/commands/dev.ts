import type { Command, Invocation } from '../command.js';
import { parseCount } from '../durations.js';
import { CliError, EXIT_OK, UsageError } from '../errors.js';
import { toJson } from '../output.js';
import { Termination } from '../signals.js';

const HELP = `Usage: etcdkit dev [--members <n>]

Start a throwaway etcd for development (a cluster with --members above 1) on free local ports,
print its endpoints and an \`export ETCD_ENDPOINTS=...\` line, and run until SIGINT (Ctrl-C)
or SIGTERM: then every member is stopped and its data removed. Needs the etcd binary (Debian/
Ubuntu: apt-get install etcd-server; macOS: brew install etcd; or ETCD_BIN=/path/to/etcd);
a single member falls back to Docker when there is no binary.

With --json, one line: {"endpoints":[...],"members":[{"name","endpoint","pid","dataDir"}]}.

Options:
  --members <n>       number of members (default 1)

Examples:
  etcdkit dev
  etcdkit dev --members 3`;

interface Running {
  endpoints: string[];
  members: { name: string; endpoint: string; pid: number | undefined; dataDir: string }[];
  stop(): Promise<void>;
}

type Testkit = typeof import('@etcdkit/testkit');

const MISSING_TESTKIT =
  '`etcdkit dev` needs @etcdkit/testkit, which is not installed: install it beside the CLI ' +
  '(npm install @etcdkit/testkit, with -g if the CLI is global), or run ' +
  '`npx -p @etcdkit/cli -p @etcdkit/testkit etcdkit dev`';

/**
 * testkit is an optional peer of the CLI, loaded only here: installing the CLI does not pull it
 * (nor, through it, testcontainers). `load` is replaceable for tests.
 */
export async function loadTestkit(
  load: () => Promise<Testkit> = () => import('@etcdkit/testkit'),
): Promise<Testkit> {
  try {
    return await load();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // Only the package itself missing; a broken install (one of its own imports missing) is reported as it is.
    if (e?.code === 'ERR_MODULE_NOT_FOUND' && /['"]@etcdkit\/testkit['"]/.test(e.message))
      throw new CliError(MISSING_TESTKIT, { cause: err });
    throw err;
  }
}

async function start(members: number): Promise<Running> {
  const testkit = await loadTestkit();
  try {
    if (members === 1) {
      // Never ETCD_ENDPOINTS: the point is a fresh server of our own.
      const server = await testkit.startEtcd({ useEnv: false, name: 'etcdkit-dev' });
      return {
        endpoints: server.endpoints,
        members: [
          { name: 'etcdkit-dev', endpoint: server.endpoints[0]!, pid: server.pid, dataDir: server.dataDir },
        ],
        stop: async () => {
          // A graceful stop first (etcd may already be exiting: Ctrl-C reaches it too), then close() removes the data.
          await server.stop().catch(() => {});
          await server.close();
        },
      };
    }
    const cluster = await testkit.startCluster({ members, namePrefix: 'etcdkit-dev-' });
    return {
      endpoints: cluster.endpoints,
      members: cluster.members.map((m) => ({
        name: m.name,
        endpoint: m.endpoint,
        pid: m.pid,
        dataDir: m.dataDir,
      })),
      stop: async () => {
        await Promise.all(cluster.members.map((m) => m.stop().catch(() => {})));
        await cluster.close();
      },
    };
  } catch (err) {
    if (err instanceof testkit.EtcdNotFoundError)
      throw new CliError(
        'cannot start etcd: the etcd binary was not found. Install it (Debian/Ubuntu: apt-get install etcd-server; ' +
          'macOS: brew install etcd) or set ETCD_BIN=/path/to/etcd',
        { cause: err },
      );
    if (err instanceof testkit.EtcdStartError)
      throw new CliError(`${err.message.split('\n')[0]} (run with --debug to see etcd's output)`, {
        cause: err,
      });
    throw err;
  }
}

async function run(inv: Invocation): Promise<number> {
  if (inv.rest) throw new UsageError('dev takes no command after --', 'dev');
  if (inv.positionals.length)
    throw new UsageError(`unexpected argument ${JSON.stringify(inv.positionals[0])} for dev`, 'dev');
  const members = parseCount((inv.values.members as string | undefined) ?? '1', 'members', 'dev', 1, 9);
  using term = new Termination();
  if (!inv.json) inv.out.note(`starting etcd (${members === 1 ? '1 member' : `${members} members`})...`);
  const running = await start(members);
  try {
    const list = running.endpoints.join(',');
    if (inv.json) {
      inv.out.line(toJson({ endpoints: running.endpoints, members: running.members }));
    } else {
      for (const m of running.members)
        inv.out.line(`member ${m.name}  ${m.endpoint}  pid ${m.pid ?? '-'}  data ${m.dataDir || '-'}`);
      inv.out.line(`endpoints: ${list}`);
      inv.out.line(`export ETCD_ENDPOINTS=${list}`);
      inv.out.note('etcd is running; data is removed on exit. Press Ctrl-C to stop.');
    }
    await term.wait();
  } finally {
    await running.stop();
  }
  if (!inv.json) inv.out.note('etcd stopped');
  return EXIT_OK;
}

export const dev: Command = {
  name: 'dev',
  summary: 'start a local etcd (or cluster) for development; stops on Ctrl-C',
  help: HELP,
  options: {
    members: { type: 'string' },
  },
  run,
};
