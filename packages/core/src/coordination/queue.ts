import { ClientClosedError, DeadlineExceededError, UnavailableError } from '../errors.js';
import type { Etcd } from '../etcd.js';
import { Backoff } from '../internal/backoff.js';
import { type Bytes, toBuffer } from '../internal/bytes.js';
import type { KeyValue } from '../kv.js';
import type { Session } from '../session.js';
import { type Compare, compare, type Op, type OpResponse, op } from '../txn.js';
import { type DeleteFollower, followDeletes, type Registration } from './deletes.js';

/**
 * A place in a queue of keys under one prefix, the layout of etcd's Go `concurrency` package:
 * each participant holds one key on its session's lease, and create revisions order them.
 * Mutex, RWMutex, Semaphore and Election are each a queue with its own rule for "my turn".
 */
export interface Ticket {
  readonly session: Session;
  /** `prefix` + name: the key that holds my place (relative to the session's client). */
  readonly key: Buffer;
  readonly prefix: Buffer;
  /** Create revision of my key: my place, and once it is my turn, the fencing token. */
  readonly rev: bigint;
  /** Revision the join was served at. */
  readonly revision: bigint;
  /** Keys created before mine that existed at `revision`, oldest first (empty when only counted: a long queue with JoinOptions.countAhead). */
  readonly ahead: readonly KeyValue[];
  /** How many keys created before mine existed at `revision`. */
  readonly aheadCount: number;
  /** False when my key already existed (this session had joined before) and was adopted. */
  readonly created: boolean;
  /** Whether `ahead` carries values (JoinOptions.aheadValues). */
  readonly aheadValues: boolean;
  /** My key's value as found, when it was adopted. */
  readonly found: KeyValue | undefined;
  /** @internal the deletion feed this ticket is registered with, if any */
  readonly registration: Registration | undefined;
}

export interface JoinOptions {
  /** The queue: every participant's key starts with it (e.g. `name/`). */
  prefix: Bytes;
  /** My key under `prefix`. */
  key: Bytes;
  value?: Bytes;
  /** Read the values of the keys ahead (Semaphore checks its limit in them); default keys only. */
  aheadValues?: boolean;
  /**
   * A rule of the count alone (Mutex, Election): a fresh join in a queue longer than
   * NAMED_QUEUE_MAX then only counts the keys ahead, so its cost does not grow with the queue.
   * `ahead` stays empty then; aheadCount is always set.
   */
  countAhead?: boolean;
  signal?: AbortSignal;
}

function kvs(r: OpResponse | undefined): KeyValue[] {
  return r?.type === 'range' ? r.kvs : [];
}

/**
 * Up to this many keys in a queue, a counting join reads their names (keys only, in one range
 * bounded by this limit), and the waiter follows the deletions by name. Beyond it, the join only
 * counts them, and the waiter needs deletion events with previous values (deletes.ts).
 */
export const NAMED_QUEUE_MAX = 64;

/**
 * Create my key unless this session has it already (then adopt it, as Go does), and read the
 * keys ahead of it, in one transaction. A waiter needs nothing else: create revisions only grow,
 * so no key can later appear ahead of mine, and the deletions that follow are watched.
 */
export async function joinQueue(session: Session, o: JoinOptions): Promise<Ticket> {
  const client = session.client;
  const prefix = toBuffer(o.prefix);
  const key = toBuffer(o.key);
  const counting = o.countAhead === true && !o.aheadValues;
  // Register with this client's deletion feeds for the prefix before the join, so that no
  // deletion after the join's revision can slip between the two (see deletes.ts). Which one is
  // kept depends on the answer: by name, or (a long queue) counting.
  const byName = liveFeed(client, prefix, false)?.register();
  const byCount = counting ? liveFeed(client, prefix, true)?.register() : undefined;
  let registration: Registration | undefined;
  try {
    const j = joinOps(session, prefix, key, o.aheadValues ?? false);
    const put = o.value === undefined ? j.putEmpty : op.put(key, o.value, { lease: session.lease });
    const r = await client
      .txn()
      .if(j.absent)
      .then(put, counting ? j.names : j.queue)
      .else(j.own, j.queue)
      .commit(o.signal ? { signal: o.signal } : {});
    const found = r.succeeded ? undefined : kvs(r.responses[0])[0];
    // Not found in the else branch cannot happen (compare and read are one txn): treat as a fresh key.
    const rev = found ? found.createRevision : r.revision;
    const read = r.responses[1];
    let ahead: KeyValue[] = [];
    let aheadCount: number;
    if (counting && r.succeeded && read?.type === 'range' && read.more) {
      // A fresh key is the newest under the prefix: every other key there is ahead of it.
      aheadCount = read.count - 1;
      registration = byCount;
      registration?.startCounting(r.revision, key, rev, aheadCount);
    } else {
      // Every key of the queue was read (a short queue, an adopted key, a rule that needs them).
      ahead = kvs(read).filter((kv) => kv.createRevision < rev);
      if (counting) ahead.sort((a, b) => (a.createRevision < b.createRevision ? -1 : 1));
      aheadCount = ahead.length;
      registration = byName ?? byCount;
      registration?.start(r.revision, key, ahead);
    }
    return {
      session,
      key,
      prefix,
      rev,
      revision: r.revision,
      ahead,
      aheadCount,
      created: !found,
      aheadValues: o.aheadValues ?? false,
      found,
      registration,
    };
  } finally {
    // The registration kept is the ticket's; an error ends it too.
    for (const reg of [byName, byCount]) if (reg && reg !== registration) reg.end();
  }
}

/** This client's deletion feed of the kind, if one is open and confirmed (DeleteFollower.live). */
function liveFeed(client: Etcd, prefix: Buffer, counts: boolean): DeleteFollower | undefined {
  const f = followDeletes(client, prefix, { create: false, counts });
  return f?.live ? f : undefined;
}

/** The parts of a join that are the same every time a session joins a queue with one key. */
interface JoinOps {
  absent: Compare;
  putEmpty: Op;
  own: Op;
  queue: Op;
  /** The names of the keys under the prefix, up to NAMED_QUEUE_MAX (and how many there are). */
  names: Op;
}
const joinCache = new WeakMap<Session, Map<string, JoinOps>>();

/** Built once per session and key (and their wire form once per client, see txn.ts): a lock taken again and again rebuilds nothing. */
function joinOps(session: Session, prefix: Buffer, key: Buffer, aheadValues: boolean): JoinOps {
  let m = joinCache.get(session);
  if (!m) joinCache.set(session, (m = new Map()));
  const id = `${aheadValues ? 'v' : 'k'}${prefix.length}:${prefix.toString('latin1')}${key.toString('latin1')}`;
  let j = m.get(id);
  if (!j) {
    // A session uses a handful of queues: keep the cache from growing with one-off names.
    if (m.size >= 64) m.clear();
    j = {
      absent: compare.createRevision(key, '==', 0),
      putEmpty: op.put(key, '', { lease: session.lease }),
      own: op.get(key),
      queue: op.get({ prefix, sort: { target: 'create', order: 'ascend' }, keysOnly: !aheadValues }),
      // In key order, not create order: etcd then reads only the keys returned, and counts the rest.
      names: op.get({ prefix, keysOnly: true, limit: NAMED_QUEUE_MAX }),
    };
    m.set(id, j);
  }
  return j;
}

/** Stop following the queue for this ticket (my turn came, or I leave). Safe to call twice. */
export function doneWaiting(t: Ticket): void {
  t.registration?.end();
}

/** Delete my key if it is still the one with create revision `rev`; false when it was not. */
export async function deleteIfMine(
  client: Etcd,
  key: Bytes,
  rev: bigint,
  options: { timeoutMs?: number } = {},
): Promise<{ deleted: boolean; revision: bigint }> {
  const r = await client
    .txn()
    .if(compare.createRevision(key, '==', rev))
    .then(op.delete(key))
    .commit(options);
  return { deleted: r.succeeded, revision: r.revision };
}

const FIRST_REMOVAL_TIMEOUT_MS = 2000;

function transient(err: unknown): boolean {
  return err instanceof UnavailableError || err instanceof DeadlineExceededError;
}

/**
 * Per session, per key: the object of this process that uses the key, and a removal of it
 * still being retried. A key is `<prefix><lease hex>`, so two objects on one session would
 * share one key and both believe they own it; the second is refused instead. The next user of
 * a key waits for its removal rather than adopting a key about to be deleted.
 */
interface Slot {
  owner: object | undefined;
  removal: Promise<void> | undefined;
}
const slots = new WeakMap<Session, Map<string, Slot>>();

function slotsOf(session: Session): Map<string, Slot> {
  let m = slots.get(session);
  if (!m) slots.set(session, (m = new Map()));
  return m;
}

/** The object of this process holding or acquiring `key` on `session`, if any. */
export function claimedBy(session: Session, key: Bytes): object | undefined {
  return slots.get(session)?.get(toBuffer(key).toString('latin1'))?.owner;
}

/** Mark `owner` as the user of `key` (the caller checked claimedBy() first). */
export function claim(session: Session, key: Bytes, owner: object): void {
  const m = slotsOf(session);
  const id = toBuffer(key).toString('latin1');
  const slot = m.get(id);
  if (slot) slot.owner = owner;
  else m.set(id, { owner, removal: undefined });
}

export function unclaim(session: Session, key: Bytes, owner: object): void {
  const m = slots.get(session);
  const id = toBuffer(key).toString('latin1');
  const slot = m?.get(id);
  if (!m || !slot || slot.owner !== owner) return;
  slot.owner = undefined;
  if (!slot.removal) m.delete(id);
}

/**
 * Leave the queue after a failed or abandoned wait. One attempt now; if etcd cannot be reached,
 * keep trying in the background (never rejecting) until it works or the session ends, which
 * deletes the key too. `rev` undefined (the join's outcome is unknown): any key of that name
 * with my lease is mine.
 */
export async function leaveQueue(session: Session, key: Bytes, rev: bigint | undefined): Promise<void> {
  const k = toBuffer(key);
  try {
    await removeMine(session, k, rev, FIRST_REMOVAL_TIMEOUT_MS);
  } catch (err) {
    if (session.expired || session.client.closed || !transient(err)) return;
    trackRemoval(session, k, retryRemoval(session, k, rev));
  }
}

/** Wait for a removal of `key` still being retried by this session, if any. */
export function pendingRemoval(session: Session, key: Bytes): Promise<void> | undefined {
  return slots.get(session)?.get(toBuffer(key).toString('latin1'))?.removal;
}

/** Remember a removal to be retried in the background (a release whose answer was lost). */
export function retryLeave(session: Session, key: Bytes, rev: bigint | undefined): void {
  if (session.expired || session.client.closed) return;
  const k = toBuffer(key);
  trackRemoval(session, k, retryRemoval(session, k, rev));
}

async function removeMine(session: Session, key: Buffer, rev: bigint | undefined, timeoutMs?: number) {
  const guard =
    rev === undefined ? compare.lease(key, '==', session.lease) : compare.createRevision(key, '==', rev);
  await session.client
    .txn()
    .if(guard)
    .then(op.delete(key))
    .commit(timeoutMs === undefined ? {} : { timeoutMs });
}

async function retryRemoval(session: Session, key: Buffer, rev: bigint | undefined): Promise<void> {
  const backoff = new Backoff({ baseMs: 100, capMs: 2000 });
  for (;;) {
    if (!(await backoff.wait(session.signal)) || session.client.closed) return;
    try {
      await removeMine(session, key, rev);
      return;
    } catch (err) {
      if (err instanceof ClientClosedError || !transient(err)) return;
    }
  }
}

function trackRemoval(session: Session, key: Buffer, removal: Promise<void>): void {
  const m = slotsOf(session);
  const id = key.toString('latin1');
  let slot = m.get(id);
  if (!slot) m.set(id, (slot = { owner: undefined, removal }));
  else slot.removal = removal;
  const s = slot;
  const settled = (): void => {
    if (s.removal !== removal) return;
    s.removal = undefined;
    if (!s.owner && m.get(id) === s) m.delete(id);
  };
  removal.then(settled, settled);
}
