import {
  type Change,
  type ConfigSnapshot,
  decoders,
  type Mirror,
  mirror as startMirror,
} from '@etcdkit/config-sync';
import { AbortError } from '@etcdkit/core';
import { type Command, type Invocation, noMore, required } from '../command.js';
import { parseCount } from '../durations.js';
import { CliError, EXIT_OK, UsageError } from '../errors.js';
import { throttled, toJson } from '../output.js';
import { Termination } from '../signals.js';

const HELP = `Usage: etcdkit mirror <prefix> [--decode text|json] [--flat] [--page-size <n>]

Mirror every key under <prefix> as configuration: print it as JSON (keys relative to <prefix>,
"a/b/c" nested as {"a":{"b":{"c":...}}}), then print every change as it happens, until SIGINT
or SIGTERM. With --json the configuration is one line, {"revision":"...","config":{...}}, and
each change is one line: {"type":"put"|"delete","key":...,"value":...,"prev":...,"revision":"..."}.

Options:
  --decode <how>      how values are read: text (UTF-8, default) or json (values that are not
                      JSON are reported on stderr and left out)
  --flat              keep keys flat ({"a/b/c": ...}) instead of nesting them by "/"
  --page-size <n>     keys per request while listing (default 10000; etcd walks the rest of the
                      prefix for every page, so larger pages list a large prefix faster)

On a terminal, stderr shows how many keys have been listed so far.

Examples:
  etcdkit mirror /config/billing/
  etcdkit mirror /config/billing/ --decode json --json | jq .`;

function flatObject(snapshot: ConfigSnapshot<unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of snapshot) Object.defineProperty(o, k, { value: v, enumerable: true });
  return o;
}

function changeLine(c: Change<unknown>): string {
  const line: Record<string, unknown> = { type: c.type, key: c.key };
  if (c.type === 'put') line.value = c.value;
  line.prev = c.prev === undefined ? null : c.prev;
  line.revision = c.revision;
  return toJson(line);
}

function changeText(c: Change<unknown>): string {
  if (c.type === 'put') return `put ${c.key} = ${JSON.stringify(c.value)} (revision ${c.revision})`;
  return `delete ${c.key} (revision ${c.revision})`;
}

async function run(inv: Invocation): Promise<number> {
  if (inv.rest) throw new UsageError('mirror takes no command after --', 'mirror');
  const prefix = required(inv, 0, 'a key prefix to mirror, e.g. /config/app/');
  noMore(inv, 1);
  const how = (inv.values.decode as string | undefined) ?? 'text';
  if (how !== 'text' && how !== 'json')
    throw new UsageError(`--decode takes text or json, got ${JSON.stringify(how)}`, 'mirror');
  const flat = inv.values.flat === true;
  const pageSize = parseCount(
    (inv.values['page-size'] as string | undefined) ?? '10000',
    'page-size',
    'mirror',
    1,
    1_000_000,
  );

  using term = new Termination();
  const etcd = inv.client();
  let cfg: Mirror<unknown>;
  const progress = throttled(inv.out.progress);
  progress(`listing ${prefix}…`);
  try {
    cfg = await startMirror<unknown>(etcd, prefix, {
      decode: how === 'json' ? decoders.json : decoders.text,
      signal: term.signal,
      pageSize,
      // Also called by a new listing after a compaction, later: done, the line goes away.
      onListProgress: (listed, total) =>
        progress(listed >= total ? '' : `listing ${prefix}: ${listed} of ${total} keys…`),
    });
  } catch (err) {
    if (err instanceof AbortError && term.signal.aborted) return EXIT_OK;
    throw err;
  } finally {
    progress('');
  }
  try {
    // Values rejected while starting are emitted just after mirror() resolves: this listener gets them.
    cfg.on('invalid', ({ key, reason }) => inv.out.note(`etcdkit: ignoring ${key}: ${reason}`));
    let failure: Error | undefined;
    cfg.on('error', (err) => {
      failure = err;
    });
    cfg.on('status', (status) => {
      if (status === 'reconnecting') inv.out.note('etcdkit: connection to etcd lost; reconnecting');
      else if (status === 'live') inv.out.note('etcdkit: reconnected');
    });
    // Take the change stream before printing, so nothing between the two is missed.
    const changes = cfg.changes({ signal: term.signal });
    const config = flat ? flatObject(cfg.snapshot()) : cfg.toObject();
    if (inv.json) inv.out.line(toJson({ revision: cfg.revision, config }));
    else inv.out.line(toJson(config, 2));
    try {
      for await (const c of changes) inv.out.line(inv.json ? changeLine(c) : changeText(c));
    } catch (err) {
      if (!(err instanceof AbortError && term.signal.aborted)) throw err;
    }
    if (!term.signal.aborted) {
      const why = failure ?? cfg.lastError;
      throw new CliError(`the mirror of ${JSON.stringify(prefix)} stopped${why ? `: ${why.message}` : ''}`, {
        cause: why,
      });
    }
    return EXIT_OK;
  } finally {
    await cfg.close();
  }
}

export const mirror: Command = {
  name: 'mirror',
  summary: 'print the configuration under a prefix as JSON, then every change',
  help: HELP,
  options: {
    decode: { type: 'string' },
    flat: { type: 'boolean' },
    'page-size': { type: 'string' },
  },
  run,
};
