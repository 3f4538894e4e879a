import { AbortError, type Etcd } from '@etcdkit/core';
import { type Discovery, decodeEndpoint, discover, type Instance } from '@etcdkit/discovery';
import { type Command, type Invocation, noMore } from '../command.js';
import { CliError, EXIT_OK, UsageError } from '../errors.js';
import { table, toJson } from '../output.js';
import { Termination } from '../signals.js';

const HELP = `Usage: etcdkit services [NAME] [--watch] [--prefix <prefix>]

With NAME: the instances of service NAME (keys NAME/<id> in the layout of etcd's Go
naming/endpoints manager, as @etcdkit/discovery and Go services write them): id, address,
state (up or draining) and metadata. With --watch, then every change as it happens
(up, down, draining, update), until SIGINT or SIGTERM.

Without NAME: every service found in the keyspace (or under --prefix): keys whose value is an
endpoint ({"Op":0,"Addr":...}), grouped by the key without its last segment, with the number of
instances up and draining. The keyspace is read at one revision, page by page.

With --json: for NAME, {"service":...,"revision":"...","instances":[{"id","address","draining",
"metadata"?}]}, then with --watch one line per change: {"type":"up"|"down"|"draining"|"update",
"instance":{...},"revision":"..."}; without NAME, {"revision":"...","services":[{"name",
"instances","draining"}]}.

Options:
  --watch             keep following the service's instances (needs NAME)
  --prefix <prefix>   without NAME: only look for services under this key prefix

Examples:
  etcdkit services
  etcdkit services prod/billing --watch
  etcdkit services prod/billing --json | jq '.instances[].address'`;

function instanceJson(i: Instance): Record<string, unknown> {
  const o: Record<string, unknown> = { id: i.id, address: i.address, draining: i.draining };
  if (i.metadata !== undefined) o.metadata = i.metadata;
  return o;
}

function rows(list: readonly Instance[]): string[][] {
  return list.map((i) => [
    i.id,
    i.address,
    i.draining ? 'draining' : 'up',
    i.metadata === undefined ? '' : JSON.stringify(i.metadata),
  ]);
}

async function listServices(inv: Invocation, etcd: Etcd, prefix: string): Promise<number> {
  const head = await etcd.range({ prefix, countOnly: true });
  const found = new Map<string, { instances: number; draining: number }>();
  for await (const kv of etcd.scan({ prefix, revision: head.revision })) {
    // Cheap test first: most keys are not endpoints.
    if (kv.value[0] !== 0x7b || !kv.value.includes('"Addr"')) continue;
    const key = kv.key.toString('utf8');
    const slash = key.lastIndexOf('/');
    if (slash <= 0) continue;
    let inst: Instance;
    try {
      inst = decodeEndpoint(kv.value, key.slice(slash + 1));
    } catch {
      continue; // not an endpoint after all
    }
    const name = key.slice(0, slash);
    const s = found.get(name) ?? { instances: 0, draining: 0 };
    s.instances++;
    if (inst.draining) s.draining++;
    found.set(name, s);
  }
  const services = [...found].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (inv.json) {
    inv.out.line(
      toJson({
        revision: head.revision,
        services: services.map(([name, s]) => ({ name, instances: s.instances, draining: s.draining })),
      }),
    );
    return EXIT_OK;
  }
  if (services.length === 0) {
    inv.out.note(`etcdkit: no service found${prefix ? ` under ${JSON.stringify(prefix)}` : ''}`);
    return EXIT_OK;
  }
  const body = services.map(([name, s]) => [name, String(s.instances - s.draining), String(s.draining)]);
  for (const l of table(['SERVICE', 'UP', 'DRAINING'], body)) inv.out.line(l);
  return EXIT_OK;
}

function printList(inv: Invocation, svc: Discovery): void {
  const list = svc.instances();
  if (inv.json) {
    inv.out.line(toJson({ service: svc.service, revision: svc.revision, instances: list.map(instanceJson) }));
    return;
  }
  if (list.length === 0) inv.out.line(`no instance of ${svc.service} is registered`);
  else for (const l of table(['ID', 'ADDRESS', 'STATE', 'METADATA'], rows(list))) inv.out.line(l);
}

async function follow(inv: Invocation, svc: Discovery, term: Termination): Promise<void> {
  let failure: Error | undefined;
  svc.on('error', (err) => {
    failure = err;
  });
  svc.on('invalid', ({ key, reason }) => inv.out.note(`etcdkit: ignoring ${key}: ${reason}`));
  svc.on('status', (status) => {
    if (status === 'reconnecting') inv.out.note('etcdkit: connection to etcd lost; reconnecting');
    else if (status === 'live') inv.out.note('etcdkit: reconnected');
  });
  const emit = (type: string, i: Instance) => {
    if (inv.json) inv.out.line(toJson({ type, instance: instanceJson(i), revision: svc.revision }));
    else inv.out.line(`${type} ${i.id} ${i.address} (revision ${svc.revision})`);
  };
  svc.on('up', (i) => emit('up', i));
  svc.on('down', (i) => emit('down', i));
  svc.on('update', (i, prev) => emit(i.draining && !prev.draining ? 'draining' : 'update', i));
  printList(inv, svc);
  // Ends on SIGINT/SIGTERM (AbortError) or when the view ends (the client failed).
  try {
    for await (const _ of svc.iterate({ signal: term.signal })) {
      // The events above print the changes; the iteration only tells when the view ends.
    }
  } catch (err) {
    if (!(err instanceof AbortError && term.signal.aborted)) throw err;
  }
  if (!term.signal.aborted) {
    const why = failure;
    throw new CliError(`following ${JSON.stringify(svc.service)} stopped${why ? `: ${why.message}` : ''}`, {
      cause: why,
    });
  }
}

async function run(inv: Invocation): Promise<number> {
  if (inv.rest) throw new UsageError('services takes no command after --', 'services');
  noMore(inv, 1);
  const name = inv.positionals[0];
  const watch = inv.values.watch === true;
  const prefix = inv.values.prefix as string | undefined;
  if (name === undefined) {
    if (watch) throw new UsageError('--watch needs a service NAME', 'services');
    return listServices(inv, inv.client(), prefix ?? '');
  }
  if (prefix !== undefined)
    throw new UsageError('--prefix is for listing services, without NAME', 'services');
  if (name === '' || name.endsWith('/'))
    throw new UsageError(
      `a service NAME must be non-empty and not end with "/", got ${JSON.stringify(name)}`,
      'services',
    );

  using term = new Termination();
  let svc: Discovery;
  try {
    svc = await discover(inv.client(), name, { signal: term.signal });
  } catch (err) {
    if (err instanceof AbortError && term.signal.aborted) return EXIT_OK;
    throw err;
  }
  try {
    if (watch) await follow(inv, svc, term);
    else printList(inv, svc);
    return EXIT_OK;
  } finally {
    await svc.close();
  }
}

export const services: Command = {
  name: 'services',
  summary: 'list the services registered in etcd, or the live instances of one (--watch)',
  help: HELP,
  options: {
    watch: { type: 'boolean' },
    prefix: { type: 'string' },
  },
  run,
};
