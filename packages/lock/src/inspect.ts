import { type CallOptions, type Etcd, InvalidArgumentError, type KeyValue } from '@etcdkit/core';

/** One key of a lock's queue, as etcd holds it: read without taking part in the lock. */
export interface LockEntry {
  /** `<name>/<lease id in hex>` (RWMutex: `<name>/read/…` or `<name>/write/…`), relative to the client's namespace. */
  key: string;
  /** The lease of the session that holds or waits (the key's suffix, in hex). */
  lease: bigint;
  /** The key's create revision: its place in the queue, and the fencing token once it holds. */
  createRevision: bigint;
}

/** A lock's queue at one revision: who holds it and who waits, in order. */
export interface LockQueue {
  /** The keys that hold the lock now (at most one for a Mutex; none when it is free). */
  holders: LockEntry[];
  /** The keys that wait, in queue order (by create revision). */
  waiters: LockEntry[];
  /** The revision the queue was read at. */
  revision: bigint;
}

/**
 * Options of the inspection calls (`Mutex.holder()`, `waiters()`, `inspect()`, and those of RWMutex
 * and Semaphore): a timeout and an AbortSignal.
 */
export interface InspectOptions extends CallOptions {}

export function toEntry(kv: KeyValue): LockEntry {
  return { key: kv.key.toString(), lease: kv.lease, createRevision: kv.createRevision };
}

/** Every key under `<name>/`, oldest first, in one read. */
export async function readQueue(
  etcd: Etcd,
  name: string,
  what: string,
  options: InspectOptions = {},
): Promise<{ kvs: KeyValue[]; revision: bigint }> {
  if (etcd === null || typeof etcd !== 'object' || typeof etcd.range !== 'function')
    throw new InvalidArgumentError(`${what} needs an Etcd client`);
  if (typeof name !== 'string' || name.length === 0)
    throw new InvalidArgumentError(
      `${what} needs a non-empty lock name (a string), got ${JSON.stringify(name)}`,
    );
  const r = await etcd.range({ prefix: `${name}/`, sort: { target: 'create', order: 'ascend' }, ...options });
  return { kvs: r.kvs, revision: r.revision };
}

/** A Mutex (or election): the oldest key holds; the others wait in create order. */
export async function inspectMutex(etcd: Etcd, name: string, options?: InspectOptions): Promise<LockQueue> {
  const { kvs, revision } = await readQueue(etcd, name, 'Mutex.inspect()', options);
  const entries = kvs.map(toEntry);
  return { holders: entries.slice(0, 1), waiters: entries.slice(1), revision };
}

/** An RWMutex key and the mode it asks for. */
export interface RWLockEntry extends LockEntry {
  /** The mode this key asks for or holds. */
  mode: 'read' | 'write';
}

/** An RWMutex's queue at one revision: the readers or the writer that hold it, and who waits. */
export interface RWLockQueue {
  /** The readers sharing the lock, or the one writer holding it (empty when free). */
  holders: RWLockEntry[];
  /** The keys that wait, in queue order, each with its mode. */
  waiters: RWLockEntry[];
  /** The revision the queue was read at. */
  revision: bigint;
}

/** An RWMutex: the readers before the first writer hold together; else the first writer alone. */
export async function inspectRWMutex(
  etcd: Etcd,
  name: string,
  options?: InspectOptions,
): Promise<RWLockQueue> {
  const { kvs, revision } = await readQueue(etcd, name, 'RWMutex.inspect()', options);
  const entries: RWLockEntry[] = [];
  for (const kv of kvs) {
    const rest = kv.key.toString().slice(name.length + 1);
    const mode = rest.startsWith('read/') ? 'read' : rest.startsWith('write/') ? 'write' : undefined;
    if (mode) entries.push({ ...toEntry(kv), mode });
  }
  let held = entries.findIndex((e) => e.mode === 'write');
  if (held === -1) held = entries.length;
  else if (held === 0) held = 1;
  return { holders: entries.slice(0, held), waiters: entries.slice(held), revision };
}

export interface SemaphoreQueue extends LockQueue {
  /** The limit the holders gave (each key's value), or undefined when nobody holds or waits. */
  limit: number | undefined;
}

/** A Semaphore: the `limit` oldest keys hold. The limit is read from the keys unless given. */
export async function inspectSemaphore(
  etcd: Etcd,
  name: string,
  options: InspectOptions & { limit?: number } = {},
): Promise<SemaphoreQueue> {
  const { limit: given, ...call } = options;
  if (given !== undefined && (!Number.isSafeInteger(given) || given < 1))
    throw new InvalidArgumentError(`Semaphore.inspect(): limit must be a whole number >= 1, got ${given}`);
  const { kvs, revision } = await readQueue(etcd, name, 'Semaphore.inspect()', call);
  const stored = kvs.length ? Number(kvs[0]!.value.toString()) : Number.NaN;
  const limit = given ?? (Number.isSafeInteger(stored) && stored >= 1 ? stored : undefined);
  const entries = kvs.map(toEntry);
  const n = limit ?? entries.length;
  return { holders: entries.slice(0, n), waiters: entries.slice(n), revision, limit };
}
