import { type Command, type Invocation, noMore } from '../command.js';
import { parseCount } from '../durations.js';
import { EXIT_OK, UsageError } from '../errors.js';
import { listChildren } from '../list-children.js';
import { toJson } from '../output.js';

const HELP = `Usage: etcdkit ls [prefix] [--page-size <n>]

List the next level of keys under [prefix] as a directory, with the number of keys under each
child: \`etcdkit ls /registry\` shows /registry/pods/, /registry/services/, ... and any key
stored directly at that level. Without a prefix, the top level of the keyspace is listed. The
whole listing is read at one revision. A large directory is split into narrow key ranges that
are counted together in one transaction, so only small parts are read and large children are
counted without reading their keys: it stays fast on hundreds of thousands of keys.

With --json: {"prefix":"/registry/","revision":"...","children":[{"name":"/registry/pods/",
"type":"prefix","count":1200}, {"name":"/registry/version","type":"key","count":1}]}.

Options:
  --page-size <n>     most keys per request; parts up to this size are read whole (default 1000)

Examples:
  etcdkit ls /registry
  etcdkit ls /registry/pods/ --json`;

async function run(inv: Invocation): Promise<number> {
  if (inv.rest) throw new UsageError('ls takes no command after --', 'ls');
  noMore(inv, 1);
  const prefix = inv.positionals[0] ?? '';
  const pageSize = parseCount(
    (inv.values['page-size'] as string | undefined) ?? '1000',
    'page-size',
    'ls',
    1,
    10_000,
  );
  const listing = await listChildren(inv.client(), prefix, { pageSize });
  if (inv.json) {
    inv.out.line(
      toJson({
        prefix: listing.dir.toString(),
        revision: listing.revision,
        children: listing.children.map((c) => ({ name: c.name.toString(), type: c.type, count: c.count })),
      }),
    );
    return EXIT_OK;
  }
  const names = listing.children.map((c) => c.name.toString());
  const counts = listing.children.map((c) => String(c.count));
  const nameWidth = Math.max(0, ...names.map((n) => n.length));
  const countWidth = Math.max(0, ...counts.map((n) => n.length));
  for (let i = 0; i < names.length; i++)
    inv.out.line(`${names[i]!.padEnd(nameWidth)}  ${counts[i]!.padStart(countWidth)}`);
  return EXIT_OK;
}

export const ls: Command = {
  name: 'ls',
  summary: 'list the next level of keys under a prefix, like a directory, with counts',
  help: HELP,
  options: {
    'page-size': { type: 'string' },
  },
  run,
};
