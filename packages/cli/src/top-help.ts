import { readFileSync } from 'node:fs';

// `etcdkit`, `etcdkit --help` and `etcdkit --version` are answered from this module alone, before
// the commands (and with them gRPC and the etcd client) are loaded: bin.ts imports main.js only
// for real work. So it imports nothing of etcdkit; a test keeps COMMAND_SUMMARIES equal to the
// name and summary of each command in COMMANDS.

/** Every command's name and one-line summary, in the order of COMMANDS. */
export const COMMAND_SUMMARIES: readonly (readonly [name: string, summary: string])[] = [
  [
    'lock',
    'run a command while holding a distributed lock (interoperates with etcdctl lock); --inspect shows its holder and waiters',
  ],
  ['elect', 'campaign in a leader election, or observe one (interoperates with etcdctl elect)'],
  ['mirror', 'print the configuration under a prefix as JSON, then every change'],
  ['services', 'list the services registered in etcd, or the live instances of one (--watch)'],
  ['ls', 'list the next level of keys under a prefix, like a directory, with counts'],
  ['status', 'status and health of every endpoint, as a table; exits 1 when unhealthy'],
  ['dev', 'start a local etcd (or cluster) for development; stops on Ctrl-C'],
  ['completion', 'print a bash or zsh completion script: source <(etcdkit completion bash)'],
  ['ui', 'a live coordination inspector in the browser: locks, elections, sessions, config, cluster'],
];

const OPTIONS_HELP = `Global options:
  -e, --endpoints <list>   etcd endpoints, comma separated (default: ETCD_ENDPOINTS, ETCDCTL_ENDPOINTS
                           or 127.0.0.1:2379)
  --cacert <file>          CA certificate (PEM) to verify the servers; implies TLS
  --cert <file>            client certificate (PEM) for TLS client authentication
  --key <file>             client private key (PEM) for --cert
  --user <name[:password]> authenticate; without ":password" the password is read from
                           ETCDKIT_PASSWORD (or ETCDCTL_PASSWORD)
  --namespace <prefix>     prefix every key with <prefix>
  --json                   machine-readable output: JSON (one object per line for streams), and
                           errors as {"error":{"code","name","message"}} on stderr
  --debug                  show stack traces of errors
  --dial-timeout <time>    how long to try to connect before failing (default 2s)
  -h, --help               show help`;

const ENVIRONMENT_HELP = `etcdctl's variables ETCDCTL_ENDPOINTS, ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY, ETCDCTL_USER,
ETCDCTL_PASSWORD and ETCDCTL_DIAL_TIMEOUT are used when the flag is not given (flags win).`;

/** The global options and the environment, under every command's help. */
export const GLOBAL_HELP = `${OPTIONS_HELP}\n\n${ENVIRONMENT_HELP}`;

export function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function topHelp(): string {
  const width = Math.max(...COMMAND_SUMMARIES.map(([name]) => name.length));
  return [
    'etcdkit: coordination tools for etcd v3',
    '',
    'Usage: etcdkit [global options] <command> [options] [arguments]',
    '',
    'Commands:',
    ...COMMAND_SUMMARIES.map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`),
    '',
    OPTIONS_HELP,
    '  --version                print the version',
    '',
    ENVIRONMENT_HELP,
    '',
    'Exit codes: 0 ok, 1 failure, 2 usage error (`lock` exits with its command’s code).',
    'Run `etcdkit <command> --help` for the options of a command.',
  ].join('\n');
}

/**
 * The answer to a command line made only of --help, -h and --version (or nothing), which needs
 * no command; undefined for anything else.
 */
export function quickAnswer(argv: readonly string[]): string | undefined {
  if (!argv.every((a) => a === '--help' || a === '-h' || a === '--version')) return undefined;
  return argv.includes('--version') ? version() : topHelp();
}
