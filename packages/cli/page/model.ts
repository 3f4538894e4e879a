import type { Kv } from './protocol.js';

// What the keys mean. A queue key is `<name>/<lease id in lowercase hex>` on that very lease:
// the layout of etcd's Go concurrency package (etcdctl lock/elect, Go, Java, etcdkit). The
// oldest key (lowest create revision) holds. Which recipe a queue belongs to is read from the
// values: locks write "", semaphores their limit, elections the candidates' proposals.

export interface QueueEntry {
  key: string;
  lease: string;
  createRevision: bigint;
  value: string;
  /** RWMutex keys only. */
  mode?: 'read' | 'write';
}

export type QueueKind = 'mutex' | 'rwmutex' | 'semaphore' | 'election';

export interface CoordQueue {
  name: string;
  kind: QueueKind;
  holders: QueueEntry[];
  waiters: QueueEntry[];
  /** Semaphores: the limit the keys carry. */
  limit?: number;
}

export interface Instance {
  id: string;
  key: string;
  address: string;
  draining: boolean;
  metadata?: unknown;
  lease: string;
}

export interface QueueItem {
  key: string;
  value: string;
  createRevision: bigint;
  priority?: number;
  notBefore?: number;
  claimedBy?: string;
}

export interface ItemQueue {
  prefix: string;
  kind: 'queue' | 'workqueue';
  items: QueueItem[];
}

export interface Model {
  queues: CoordQueue[];
  services: Map<string, Instance[]>;
  itemQueues: ItemQueue[];
  /** Keys held on each lease (hex). */
  keysByLease: Map<string, string[]>;
}

const byRevision = (a: QueueEntry, b: QueueEntry): number =>
  a.createRevision < b.createRevision ? -1 : a.createRevision > b.createRevision ? 1 : 0;

const QUEUE_ITEM = /^(.*\/)(\d{5})\/(\d{16})-[0-9a-f]{16}$/;
const WORK_ITEM = /^(.*\/)(items|claims)\/([0-9a-f]{16})$/;

export function derive(kvs: Iterable<Kv>): Model {
  const groups = new Map<string, { rw: boolean; entries: QueueEntry[] }>();
  const services = new Map<string, Instance[]>();
  const keysByLease = new Map<string, string[]>();
  const queues = new Map<string, QueueItem[]>();
  const work = new Map<string, { items: Map<string, QueueItem>; claims: Map<string, string> }>();
  for (const kv of kvs) {
    const slash = kv.k.lastIndexOf('/');
    if (kv.l) {
      const list = keysByLease.get(kv.l);
      if (list) list.push(kv.k);
      else keysByLease.set(kv.l, [kv.k]);
    }
    if (slash > 0 && kv.l && kv.k.slice(slash + 1) === kv.l) {
      let name = kv.k.slice(0, slash);
      let mode: 'read' | 'write' | undefined;
      const rw = /^(.+)\/(read|write)$/.exec(name);
      if (rw) {
        name = rw[1]!;
        mode = rw[2] as 'read' | 'write';
      }
      const g = groups.get(name) ?? { rw: false, entries: [] };
      if (mode) g.rw = true;
      const e: QueueEntry = { key: kv.k, lease: kv.l, createRevision: BigInt(kv.c), value: kv.b ? '' : kv.v };
      if (mode) e.mode = mode;
      g.entries.push(e);
      groups.set(name, g);
      continue;
    }
    if (!kv.b && kv.v.startsWith('{') && kv.v.includes('"Addr"') && slash > 0) {
      const inst = endpointOf(kv, kv.k.slice(slash + 1));
      if (inst) {
        const name = kv.k.slice(0, slash);
        const list = services.get(name);
        if (list) list.push(inst);
        else services.set(name, [inst]);
        continue;
      }
    }
    const q = QUEUE_ITEM.exec(kv.k);
    if (q) {
      const list = queues.get(q[1]!) ?? [];
      list.push({
        key: kv.k,
        value: kv.b ? '(binary)' : kv.v,
        createRevision: BigInt(kv.c),
        priority: Number(q[2]),
        notBefore: Number(q[3]),
      });
      queues.set(q[1]!, list);
      continue;
    }
    const w = WORK_ITEM.exec(kv.k);
    if (w) {
      const wq = work.get(w[1]!) ?? { items: new Map(), claims: new Map() };
      if (w[2] === 'items')
        wq.items.set(w[3]!, { key: kv.k, value: kv.b ? '(binary)' : kv.v, createRevision: BigInt(kv.c) });
      else wq.claims.set(w[3]!, kv.l);
      work.set(w[1]!, wq);
    }
  }

  const out: CoordQueue[] = [];
  for (const [name, g] of groups) {
    const entries = g.entries.sort(byRevision);
    if (g.rw) {
      // Readers before the first writer share the lock; else the first writer holds it alone.
      let held = entries.findIndex((e) => e.mode === 'write');
      if (held === -1) held = entries.length;
      else if (held === 0) held = 1;
      out.push({ name, kind: 'rwmutex', holders: entries.slice(0, held), waiters: entries.slice(held) });
      continue;
    }
    const values = new Set(entries.map((e) => e.value));
    const only = values.size === 1 ? [...values][0]! : undefined;
    if (only === '')
      out.push({ name, kind: 'mutex', holders: entries.slice(0, 1), waiters: entries.slice(1) });
    else if (only !== undefined && /^[1-9]\d{0,8}$/.test(only) && entries.length > 0) {
      const limit = Number(only);
      out.push({
        name,
        kind: 'semaphore',
        limit,
        holders: entries.slice(0, limit),
        waiters: entries.slice(limit),
      });
    } else out.push({ name, kind: 'election', holders: entries.slice(0, 1), waiters: entries.slice(1) });
  }
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const itemQueues: ItemQueue[] = [];
  for (const [prefix, items] of queues) {
    items.sort((a, b) => a.priority! - b.priority! || a.notBefore! - b.notBefore! || cmpBig(a, b));
    itemQueues.push({ prefix, kind: 'queue', items });
  }
  for (const [prefix, wq] of work) {
    const items = [...wq.items].map(([id, item]) => {
      const c = wq.claims.get(id);
      return c === undefined ? item : { ...item, claimedBy: c };
    });
    items.sort(cmpBig);
    itemQueues.push({ prefix, kind: 'workqueue', items });
  }
  itemQueues.sort((a, b) => (a.prefix < b.prefix ? -1 : 1));
  for (const list of services.values()) list.sort((a, b) => (a.id < b.id ? -1 : 1));
  return { queues: out, services, itemQueues, keysByLease };
}

function cmpBig(a: QueueItem, b: QueueItem): number {
  return a.createRevision < b.createRevision ? -1 : a.createRevision > b.createRevision ? 1 : 0;
}

/** The endpoint layout of Go's naming/endpoints manager: {"Op":0,"Addr":...,"Metadata":...}. */
function endpointOf(kv: Kv, id: string): Instance | undefined {
  let v: unknown;
  try {
    v = JSON.parse(kv.v);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object') return undefined;
  const o = v as { Op?: unknown; Addr?: unknown; Metadata?: unknown };
  if (o.Op !== 0 || typeof o.Addr !== 'string') return undefined;
  let metadata = o.Metadata ?? undefined;
  let draining = false;
  if (metadata && typeof metadata === 'object' && !Array.isArray(metadata)) {
    const { 'etcdkit.draining': d, ...rest } = metadata as Record<string, unknown>;
    draining = d === true;
    metadata = Object.keys(rest).length ? rest : undefined;
  }
  const inst: Instance = { id, key: kv.k, address: o.Addr, draining, lease: kv.l };
  if (metadata !== undefined) inst.metadata = metadata;
  return inst;
}
