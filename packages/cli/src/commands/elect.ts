import { AbortError, type Etcd, SessionExpiredError } from '@etcdkit/core';
import { Election, type Leader, observeLeader } from '@etcdkit/election';
import { type Command, type Invocation, noMore, required } from '../command.js';
import { parseTtl } from '../durations.js';
import { CliError, EXIT_OK, UsageError } from '../errors.js';
import { toJson } from '../output.js';
import { Termination } from '../signals.js';

const HELP = `Usage: etcdkit elect <name> <value> [--ttl <time>]
       etcdkit elect --observe <name>

Campaign in the election <name> with <value>: wait until elected, print it, stay leader until
SIGINT or SIGTERM, then resign (exit 0). If leadership is lost meanwhile (the session expired
or the key was deleted), exit 1.

On a terminal, stderr shows who leads while etcdkit waits to be elected.

With --observe, take no part: print the current leader, then every change (a new leader, a new
value, no leader), until SIGINT or SIGTERM.

Elections use the key layout of etcd's own: they work together with \`etcdctl elect\` and Go
services using concurrency.Election.

Options:
  -l, --observe       print the leader and its changes instead of campaigning (as etcdctl elect -l)
  --ttl <time>        session TTL: how long leadership outlives a crashed etcdkit (default 60s)

Examples:
  etcdkit elect scheduler "$(hostname)"
  etcdkit elect --observe scheduler --json`;

function leaderJson(name: string, leader: Leader | undefined): string {
  return toJson({
    name,
    leader: leader
      ? {
          key: leader.key.toString(),
          value: leader.value.toString(),
          createRevision: leader.createRevision,
          lease: leader.lease.toString(16),
        }
      : null,
  });
}

async function observe(inv: Invocation, name: string): Promise<number> {
  using term = new Termination();
  const etcd = inv.client();
  for await (const leader of observeLeader(etcd, name, { signal: term.signal })) {
    if (inv.json) inv.out.line(leaderJson(name, leader));
    else if (leader) inv.out.line(`leader: ${leader.value.toString()} (key ${leader.key.toString()})`);
    else inv.out.line('leader: none');
  }
  return EXIT_OK;
}

async function campaign(inv: Invocation, name: string, value: string): Promise<number> {
  const ttl = parseTtl((inv.values.ttl as string | undefined) ?? '60', 'ttl', 'elect');
  using term = new Termination();
  const etcd = inv.client();
  let session: Awaited<ReturnType<typeof etcd.session>>;
  try {
    session = await etcd.session({ ttl, signal: term.signal });
  } catch (err) {
    if (term.signal.aborted) return EXIT_OK;
    throw err;
  }
  try {
    const e = new Election(session, name);
    const waited = new AbortController();
    const shown = showLeader(inv, etcd, name, e.key, waited.signal);
    try {
      await e.campaign(value, { signal: term.signal });
    } catch (err) {
      // Stopped before being elected: the candidacy was withdrawn.
      if (err instanceof AbortError && term.signal.aborted) return EXIT_OK;
      throw err;
    } finally {
      waited.abort();
      await shown;
    }
    const key = e.key.toString();
    if (inv.json)
      inv.out.line(toJson({ event: 'elected', name, key, value, createRevision: e.createRevision }));
    else inv.out.line(`elected: ${value} (key ${key})`);

    // Stay leader until a signal; watch the election so a deleted key is noticed too.
    const stop = new AbortController();
    const onTerm = (): void => stop.abort();
    term.signal.addEventListener('abort', onTerm, { once: true });
    session.signal.addEventListener('abort', onTerm, { once: true });
    let lostTo: Leader | undefined | null = null;
    try {
      for await (const leader of e.observe({ signal: stop.signal })) {
        if (!leader?.key.equals(e.key)) {
          lostTo = leader;
          break;
        }
      }
    } finally {
      term.signal.removeEventListener('abort', onTerm);
      session.signal.removeEventListener('abort', onTerm);
    }
    if (session.expired)
      throw new CliError(
        `leadership of ${JSON.stringify(name)} was lost: the session expired (etcd was not reached in time to renew it)`,
        { cause: session.signal.reason },
      );
    if (lostTo !== null) {
      await e.resign().catch(() => {});
      const now = lostTo ? `; the leader is now ${lostTo.value.toString()}` : '';
      throw new CliError(`leadership of ${JSON.stringify(name)} was lost: key ${key} was deleted${now}`);
    }
    await e.resign();
    if (inv.json) inv.out.line(toJson({ event: 'resigned', name, key }));
    else inv.out.line(`resigned (key ${key})`);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof SessionExpiredError)
      throw new CliError(
        `the session of election ${JSON.stringify(name)} expired (etcd was not reached in time to renew it)`,
        { cause: err },
      );
    throw err;
  } finally {
    await session.close().catch(() => {});
  }
}

/**
 * On a terminal, while campaign() waits: who leads now, as a progress line that follows the
 * election. Display only: it never fails the campaign, whose own wait reports a lost connection.
 */
async function showLeader(
  inv: Invocation,
  etcd: Etcd,
  name: string,
  ownKey: Buffer,
  signal: AbortSignal,
): Promise<void> {
  const progress = inv.out.progress;
  if (!progress) return;
  try {
    for await (const leader of observeLeader(etcd, name, { signal })) {
      if (leader && !leader.key.equals(ownKey))
        progress(
          `waiting to lead: the leader is ${leader.value} (key ${leader.key}, lease ${leader.lease.toString(16)})…`,
        );
      else progress('');
    }
  } catch {
    // Aborted once campaign() settled, or the connection failed: campaign() reports that itself.
  } finally {
    progress('');
  }
}

async function run(inv: Invocation): Promise<number> {
  if (inv.rest) throw new UsageError('elect takes no command after --', 'elect');
  const name = required(inv, 0, 'an election name');
  if (inv.values.observe) {
    noMore(inv, 1);
    if (inv.values.ttl !== undefined) throw new UsageError('--ttl has no use with --observe', 'elect');
    return observe(inv, name);
  }
  const value = inv.positionals[1];
  if (value === undefined)
    throw new UsageError(
      'elect needs a value to campaign with (etcdkit elect <name> <value>), or --observe to watch',
      'elect',
    );
  noMore(inv, 2);
  return campaign(inv, name, value);
}

export const elect: Command = {
  name: 'elect',
  summary: 'campaign in a leader election, or observe one (interoperates with etcdctl elect)',
  help: HELP,
  options: {
    observe: { type: 'boolean', short: 'l' },
    ttl: { type: 'string' },
  },
  run,
};
