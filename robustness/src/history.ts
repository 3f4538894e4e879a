/**
 * etcd's history of the run, as a recorder watch saw it. The recorder watches the whole key
 * prefix of the run from the revision the run started at, on a client that goes to the members
 * directly (not through the proxies that faults break), and compaction never passes it: the
 * fault injector compacts only revisions the recorder has received. Checkers compare what the
 * workloads saw against this history, and main.ts checks the history itself against etcd.
 */
import type { Etcd, KeyValue, WatchEvent, Watcher } from '@etcdkit/core';

/** One event, with what checkers compare (keys and values are text in this suite). */
export interface Event {
  type: 'put' | 'delete';
  key: string;
  value: string;
  createRevision: bigint;
  modRevision: bigint;
  version: bigint;
  /** The previous key-value, on watches made with prevKv (not compared by sameEvent). */
  prev?: { value: string; modRevision: bigint };
}

export function toEvent(e: WatchEvent): Event {
  const event: Event = { type: e.type, ...fromKv(e.kv) };
  if (e.prevKv) event.prev = { value: e.prevKv.value.toString(), modRevision: e.prevKv.modRevision };
  return event;
}

function fromKv(kv: KeyValue): Omit<Event, 'type'> {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
  };
}

export function sameEvent(a: Event, b: Event): boolean {
  return (
    a.type === b.type &&
    a.key === b.key &&
    a.value === b.value &&
    a.createRevision === b.createRevision &&
    a.modRevision === b.modRevision &&
    a.version === b.version
  );
}

export function showEvent(e: Event): string {
  return `${e.type} ${e.key}=${JSON.stringify(e.value)} (create ${e.createRevision}, mod ${e.modRevision}, version ${e.version})`;
}

export interface StoredKv {
  value: string;
  createRevision: bigint;
  modRevision: bigint;
  version: bigint;
}

/** The key-value state of the run's prefix, built by applying recorded revisions in order. */
export class KvState {
  readonly kvs = new Map<string, StoredKv>();
  revision: bigint;

  constructor(revision: bigint) {
    this.revision = revision;
  }

  apply(revision: bigint, events: readonly Event[]): void {
    for (const e of events) {
      if (e.type === 'delete') this.kvs.delete(e.key);
      else this.kvs.set(e.key, e);
    }
    this.revision = revision;
  }

  /** Keys under `prefix`, the prefix cut off, sorted. */
  entriesUnder(prefix: string): [string, string][] {
    const out: [string, string][] = [];
    for (const [k, kv] of this.kvs) if (k.startsWith(prefix)) out.push([k.slice(prefix.length), kv.value]);
    return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** The key with the lowest create revision under `prefix`: the owner in etcd's lock and election layout. */
  ownerUnder(prefix: string): { key: string; createRevision: bigint } | undefined {
    let best: { key: string; createRevision: bigint } | undefined;
    for (const [key, kv] of this.kvs)
      if (key.startsWith(prefix) && (!best || kv.createRevision < best.createRevision))
        best = { key, createRevision: kv.createRevision };
    return best;
  }
}

/** The last revision something has received, and waiting for it to reach one (event-driven, with a deadline). */
export class Progress {
  private last: bigint;
  private failure: Error | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(revision: bigint) {
    this.last = revision;
  }

  get revision(): bigint {
    return this.last;
  }

  get error(): Error | undefined {
    return this.failure;
  }

  advance(revision: bigint): void {
    if (revision > this.last) this.last = revision;
    for (const wake of [...this.waiters]) wake();
  }

  fail(error: Error): void {
    this.failure ??= error;
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves true once `revision` is reached; false when failed first or after `timeoutMs`. */
  reach(revision: bigint, timeoutMs: number): Promise<boolean> {
    if (this.last >= revision) return Promise.resolve(true);
    if (this.failure) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(ok);
      };
      const wake = (): void => {
        if (this.last >= revision) finish(true);
        else if (this.failure) finish(false);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.waiters.add(wake);
    });
  }
}

export class Recorder {
  /** Every revision of the run's prefix after `startRevision`, with its events in etcd's order. */
  readonly revisions = new Map<bigint, Event[]>();
  /** The state is empty at this revision (a fresh cluster); the history starts after it. */
  readonly startRevision: bigint;
  readonly progress: Progress;
  private readonly watcher: Watcher;
  private readonly done: Promise<void>;

  private constructor(etcd: Etcd, prefix: string, startRevision: bigint) {
    this.startRevision = startRevision;
    this.progress = new Progress(startRevision);
    this.watcher = etcd.watch({ prefix, startRevision: startRevision + 1n });
    this.done = this.follow();
  }

  static async start(etcd: Etcd, prefix: string): Promise<Recorder> {
    const r = await etcd.range({ prefix, countOnly: true });
    if (r.count !== 0) throw new Error(`the run's prefix ${prefix} is not empty: use a fresh cluster`);
    return new Recorder(etcd, prefix, r.revision);
  }

  /** The last revision received: compacting up to it cannot make the recorder miss anything. */
  get revision(): bigint {
    return this.progress.revision;
  }

  /** Set when the recorder's watch ended by failure: the history is then incomplete. */
  get error(): Error | undefined {
    return this.progress.error;
  }

  reach(revision: bigint, timeoutMs: number): Promise<boolean> {
    return this.progress.reach(revision, timeoutMs);
  }

  private async follow(): Promise<void> {
    try {
      for await (const batch of this.watcher.batches()) {
        this.revisions.set(batch.revision, batch.events.map(toEvent));
        this.progress.advance(batch.revision);
      }
    } catch (err) {
      this.progress.fail(err as Error);
    }
  }

  /** Revisions in order, each with the state before it: the one pass every checker builds on. */
  *replay(): Generator<{ revision: bigint; events: Event[]; before: KvState }, KvState, undefined> {
    const state = new KvState(this.startRevision);
    const order = [...this.revisions.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const revision of order) {
      const events = this.revisions.get(revision)!;
      yield { revision, events, before: state };
      state.apply(revision, events);
    }
    return state;
  }

  async close(): Promise<void> {
    this.watcher.close();
    await this.done;
  }
}
