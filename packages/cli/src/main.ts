import { parseArgs } from 'node:util';
import type { Etcd } from '@etcdkit/core';
import {
  type Command,
  createClient,
  endpointsOf,
  GLOBAL_HELP,
  GLOBAL_OPTIONS,
  type OptionValues,
  userOf,
} from './command.js';
import { completion } from './commands/completion.js';
import { dev } from './commands/dev.js';
import { elect } from './commands/elect.js';
import { lock } from './commands/lock.js';
import { ls } from './commands/ls.js';
import { mirror } from './commands/mirror.js';
import { services } from './commands/services.js';
import { status } from './commands/status.js';
import { ui } from './commands/ui.js';
import { describeError, describeErrorJson, EXIT_OK, exitCodeOf, UsageError } from './errors.js';
import { type Output, processOutput } from './output.js';
import { topHelp, version } from './top-help.js';

/** Every `etcdkit` subcommand, in the order `etcdkit --help` lists them. */
export const COMMANDS: readonly Command[] = [lock, elect, mirror, services, ls, status, dev, completion, ui];

/** Global options that take a value (long and short): the word after them is not the command name. */
const VALUE_OPTIONS = new Set(
  Object.entries(GLOBAL_OPTIONS)
    .filter(([, o]) => o.type === 'string')
    .flatMap(([name, o]) => [`--${name}`, ...('short' in o ? [`-${o.short}`] : [])]),
);

/** The index of the command name: the first word that is neither an option nor an option's value. */
function commandIndex(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return -1;
    if (VALUE_OPTIONS.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-') && a !== '-') continue;
    return i;
  }
  return -1;
}

function parse(command: Command, args: string[]): { values: OptionValues; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as OptionValues, positionals };
  } catch (err) {
    // node's messages mention `args` and '--'-prefixed positionals; keep their first sentence.
    const msg = (err as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '');
    throw new UsageError(msg.replace(/^Unknown option/, 'unknown option'), command.name, { cause: err });
  }
}

/** Options of {@link main}. */
export interface MainOptions {
  /** Where to write; default: the process's stdout and stderr. */
  out?: Output;
}

/**
 * Run the etcdkit command line; resolves with the exit code and never rejects. Errors are
 * reported as one line on stderr (with the stack under --debug).
 */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const out = options.out ?? processOutput;
  let debug = argv.includes('--debug');
  // Known before parsing, so that a usage error is JSON too under --json (the words after `--`
  // are the command's that `lock` runs).
  const dashes = argv.indexOf('--');
  let json = (dashes < 0 ? argv : argv.slice(0, dashes)).includes('--json');
  let values: OptionValues = {};
  let client: Etcd | undefined;
  try {
    const at = commandIndex(argv);
    if (at < 0) {
      const { values: top } = parseTopLevel(argv);
      if (top.version) {
        out.line(version());
        return EXIT_OK;
      }
      out.line(topHelp());
      return EXIT_OK;
    }
    const name = argv[at]!;
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    const rest = [...argv.slice(0, at), ...argv.slice(at + 1)];
    // Everything after `--` belongs to the command `lock` runs, untouched.
    const dashes = rest.indexOf('--');
    const own = dashes < 0 ? rest : rest.slice(0, dashes);
    const parsed = parse(command, own);
    values = parsed.values;
    debug = values.debug === true;
    json = values.json === true;
    if (values.help) {
      out.line(`${command.help}\n\n${GLOBAL_HELP}`);
      return EXIT_OK;
    }
    return await command.run({
      command: command.name,
      positionals: parsed.positionals,
      values,
      rest: dashes < 0 ? undefined : rest.slice(dashes + 1),
      json: values.json === true,
      out,
      client() {
        client ??= createClient(values, command.name);
        return client;
      },
    });
  } catch (err) {
    let endpoints: string[] = [];
    try {
      endpoints = endpointsOf(values);
    } catch {
      // only for the message
    }
    const ctx = { endpoints, user: userOf(values) };
    out.note(json ? describeErrorJson(err, ctx) : describeError(err, ctx));
    if (debug && err instanceof Error && err.stack) out.note(stackOf(err));
    return exitCodeOf(err);
  } finally {
    out.progress?.('');
    await client?.close().catch(() => {});
  }
}

function parseTopLevel(argv: readonly string[]): { values: OptionValues } {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: { ...GLOBAL_OPTIONS, version: { type: 'boolean' } },
      allowPositionals: false,
      strict: true,
    });
    return { values: values as OptionValues };
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '');
    throw new UsageError(msg.replace(/^Unknown option/, 'unknown option'), '', { cause: err });
  }
}

/** The stack and the chain of causes, for --debug. */
function stackOf(err: Error): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    parts.push(depth === 0 ? (e.stack ?? String(e)) : `caused by: ${e.stack ?? String(e)}`);
    e = e.cause;
  }
  return parts.join('\n');
}
