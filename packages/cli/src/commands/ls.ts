import { type Command, type Invocation, noMore } from '../command.js';
import { parseCount } from '../durations.js';
import { EXIT_OK, UsageError } from '../errors.js';
import { listChildren } from '../list-children.js';
import { throttled, toJson } from '../output.js';

const HELP = `Usage: etcdkit ls [prefix] [--page-size <n>]

List the next level of keys under [prefix] as a directory, with the number of keys under each
child: \`etcdkit ls /registry\` shows /registry/pods/, /registry/services/, ... and any key
stored directly at that level. Without a prefix, or with /, the top level of the whole keyspace
is listed: keys with a leading slash by their first segment (/registry/), keys without one as
they are (app/, top-level-key). etcd keys are plain bytes, so /app/x and app/x are different
keys: \`ls /app\` lists the first, \`ls app\` the second, and an empty listing says on stderr
when the other spelling has keys. On a terminal, stderr shows how many keys were counted. The
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
  const shown = prefix === '' ? 'the keyspace' : prefix;
  const progress = throttled(inv.out.progress);
  const listing = await listChildren(inv.client(), prefix, {
    pageSize,
    onProgress: (counted, total) => progress(`listing ${shown}: ${counted} of ${total} keys counted…`),
  });
  inv.out.progress?.('');
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
  // An empty keyspace needs no words; an empty directory says where the keys may be instead.
  if (listing.children.length === 0 && listing.dir.length > 0) {
    inv.out.note(await nothingUnder(inv, listing.dir));
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

/**
 * Why the listing is empty, and where the keys are when they differ only by a leading slash:
 * etcd keys are plain bytes, and `/app/x` and `app/x` are different keys.
 */
async function nothingUnder(inv: Invocation, dir: Buffer): Promise<string> {
  const name = dir.toString();
  const what = `no keys under ${JSON.stringify(name)}`;
  const other = name.startsWith('/') ? name.slice(1) : `/${name}`;
  if (other === '') return `etcdkit: ${what}`;
  const there = await inv.client().range({ prefix: other, countOnly: true });
  if (there.count === 0) return `etcdkit: ${what}`;
  const hint = other.startsWith('/') ? 'with a leading slash' : 'without the leading slash';
  return `etcdkit: ${what}; ${there.count} ${there.count === 1 ? 'key is' : 'keys are'} under ${JSON.stringify(other)} (${hint}): etcdkit ls ${other}`;
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
