import { AbortError } from '../errors.js';
import type { Etcd } from '../etcd.js';
import { unref } from '../internal/signals.js';
import type { KeyValue } from '../kv.js';
import type { WatchBatch, Watcher } from '../watch.js';
import type { Blocked } from './turn.js';

/**
 * The deletions under one queue prefix, as one client sees them: a single watch (deletes only)
 * shared by every waiter of this client on that prefix. A waiter knows, from its join, the
 * keys ahead of it; each deletion event takes one off, and when the waiter's rule says "my
 * turn", it is, with no read to confirm it. Every waiter of a client on a prefix costs one
 * event per deletion, whatever the queue's length.
 *
 * The feed is registered with before a join is sent, so that the deletions between the
 * revision the feed had reached and the join's revision are kept (in `log`) until the join's
 * answer says which of them came after it.
 *
 * A feed comes in two kinds. A short queue's waiters know the keys ahead by name, and a
 * deletion event (key and revision) is all they need. A waiter far back in a long queue only
 * counts the keys ahead of it (the join would otherwise read them all); to tell whether a
 * deleted key was ahead, it needs the key's create revision, which only the previous value
 * carries. etcd reads that previous value once per event and watch, so only the counting
 * kind asks for it.
 */
export class DeleteFollower {
  readonly prefix: Buffer;
  /** Deletions carry the deleted key's create revision: waiters may count (Registration.startCounting). */
  readonly counts: boolean;
  private readonly watcher: Watcher;
  private readonly regs = new Set<Registration>();
  private joining = 0;
  /** The deletions seen while some registration is joining, in order; cleared when none is. */
  private log: Deletion[] = [];
  private processed = 0n;
  private lingerTimer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  private readonly onClose: () => void;
  /** Resolves once etcd confirmed the watch; every deletion after that revision is seen. */
  readonly ready: Promise<bigint>;

  constructor(client: Etcd, prefix: Buffer, counts: boolean, onClose: () => void) {
    this.prefix = prefix;
    this.counts = counts;
    this.onClose = onClose;
    this.watcher = client.watch({ prefix, ...(counts ? { prevKv: true } : {}), filters: { noPut: true } });
    this.ready = this.watcher.ready.then((rev) => {
      this.confirmed = true;
      if (rev > this.processed) this.processed = rev;
      return rev;
    });
    this.ready.catch(() => {}); // a failure reaches the registrations through fail()
    void this.run();
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  /**
   * etcd confirmed the watch: it sees every deletion from now on. Only then may a join register
   * before it is sent; a watch still being created may start after the join's revision.
   */
  get live(): boolean {
    return this.confirmed && !this.failure;
  }
  private confirmed = false;

  /** Begin following for one waiter; call start() with its join's answer, end() when done. */
  register(): Registration {
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
    const reg = new Registration(this);
    this.regs.add(reg);
    this.joining++;
    if (this.failure) reg.fail(this.failure);
    return reg;
  }

  /** @internal */
  started(revision: bigint): Deletion[] {
    this.joining--;
    const relevant = this.log.filter((d) => d.revision > revision);
    if (this.joining === 0) this.log = [];
    return relevant;
  }

  /** @internal */
  unregister(reg: Registration, wasJoining: boolean): void {
    if (!this.regs.delete(reg)) return;
    if (wasJoining && --this.joining === 0) this.log = [];
    if (this.regs.size === 0 && !this.failure) {
      // Kept a little while: the next wait on this prefix then needs no watch and no read.
      this.lingerTimer = setTimeout(() => this.close(), LINGER_MS);
      unref(this.lingerTimer);
    }
  }

  /** The revision through which every deletion has been applied. */
  get revision(): bigint {
    return this.processed;
  }

  private async run(): Promise<void> {
    try {
      for await (const b of this.watcher.batches({ bookmarks: true })) this.apply(b);
      this.fail(feedClosed());
    } catch (err) {
      this.fail(err instanceof Error ? err : feedClosed());
    }
  }

  private apply(b: WatchBatch): void {
    this.processed = b.revision;
    if (b.events.length === 0) return;
    // Each deletion spelled once per batch, not once per waiter.
    const dels = b.events.map(
      (ev): Deletion => ({
        key: ev.kv.key.toString('latin1'),
        revision: b.revision,
        createRevision: ev.prevKv?.createRevision,
      }),
    );
    if (this.joining > 0) for (const d of dels) this.log.push(d);
    for (const reg of this.regs) reg.deleted(b.revision, dels);
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.onClose();
    this.watcher.close();
    clearTimeout(this.lingerTimer);
    for (const reg of this.regs) reg.fail(err);
  }

  close(): void {
    this.fail(feedClosed());
  }
}

const LINGER_MS = 10_000;

/** Why a feed ended when it was closed rather than broken: its waiters simply read again. */
export class FeedClosed extends AbortError {}

function feedClosed(): FeedClosed {
  return new FeedClosed('the deletion feed was closed');
}

/** One deletion under the prefix: the key (latin1), its revision, and when the key had been created (from its previous value). */
export interface Deletion {
  key: string;
  revision: bigint;
  createRevision: bigint | undefined;
}

/** One waiter's view of the queue: the keys still ahead of it (or, counting, how many). */
export class Registration {
  private readonly feed: DeleteFollower;
  private state: 'joining' | 'started' | 'ended' = 'joining';
  private since = 0n;
  private mine: string | undefined;
  private readonly ahead = new Map<string, KeyValue>();
  /** Counting mode (startCounting): how many keys created before mine still exist, and mine's create revision. */
  private counting: { left: number; myRev: bigint } | undefined;
  private gone = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private lastDeletion = 0n;
  /** The queue's rule, once wait() was called. */
  private rule: Blocked | undefined;

  constructor(feed: DeleteFollower) {
    this.feed = feed;
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  /** The join was served at `revision`; `ahead` were the keys before mine then. */
  start(revision: bigint, myKey: Buffer, ahead: readonly KeyValue[]): void {
    if (this.state !== 'joining') return;
    this.state = 'started';
    this.since = revision;
    this.mine = myKey.toString('latin1');
    for (const kv of ahead) this.ahead.set(kv.key.toString('latin1'), kv);
    for (const d of this.feed.started(revision)) this.remove(d);
  }

  /**
   * The join was served at `revision`, my key created at `myRev`, and `count` keys created
   * before it existed then; only their number is kept. Create revisions only grow, so each of
   * them is deleted once after `revision` at most, and a deletion says (in its previous value)
   * whether the key was created before mine: the count goes down by exactly those. For a rule
   * that depends on the count alone (Blocked.whileAtLeast); the join then reads no keys at all,
   * whatever the length of the queue.
   */
  startCounting(revision: bigint, myKey: Buffer, myRev: bigint, count: number): void {
    if (this.state !== 'joining') return;
    this.state = 'started';
    // Cannot happen (joinQueue counts only on a counting feed); if it did, the waiter reads the queue instead.
    if (!this.feed.counts)
      this.failure ??= new FeedClosed('this deletion feed has no previous values to count by');
    this.since = revision;
    this.mine = myKey.toString('latin1');
    this.counting = { left: count, myRev };
    for (const d of this.feed.started(revision)) this.remove(d);
  }

  /** @internal the deletions of one revision; the waiter wakes only if one concerned it */
  deleted(revision: bigint, dels: readonly Deletion[]): void {
    if (this.state !== 'started' || revision <= this.since) return;
    let changed = false;
    for (const d of dels) if (this.remove(d)) changed = true;
    if (!changed) return;
    // Still blocked by count alone: no need to wake (with many waiters, only the next one wakes).
    const n = this.rule?.whileAtLeast;
    if (!this.gone && !this.failure && n !== undefined && this.aheadCount >= n) return;
    this.poke();
  }

  private get aheadCount(): number {
    return this.counting ? this.counting.left : this.ahead.size;
  }

  private isBlocked(blocked: Blocked): boolean {
    const n = blocked.whileAtLeast;
    if (n !== undefined) return this.aheadCount >= n;
    // A rule that needs the keys is never used with counting (joinQueue's countAhead).
    return blocked([...this.ahead.values()]);
  }

  /** True when the deletion was of my key or of one ahead of me (or could not be told: then the registration fails). */
  private remove(d: Deletion): boolean {
    if (d.key === this.mine) {
      this.gone = true;
      return true;
    }
    if (this.counting) {
      if (d.createRevision === undefined) {
        // No previous value: whether it was ahead cannot be told. Read the queue again instead.
        this.failure ??= new FeedClosed('a deletion came without its previous value');
        return true;
      }
      if (d.createRevision >= this.counting.myRev) return false;
      this.counting.left--;
    } else if (!this.ahead.delete(d.key)) return false;
    if (d.revision > this.lastDeletion) this.lastDeletion = d.revision;
    return true;
  }

  /** @internal the feed broke: the waiter reads the queue again on a new one */
  fail(err: Error): void {
    this.failure ??= err;
    this.poke();
  }

  /**
   * Resolve with a revision at which my turn is certain once `blocked` says it is no longer
   * blocked, or with undefined when my key was deleted. Rejects with the feed's error when the
   * feed broke (the caller reads the queue again) and with the signal's reason on abort.
   */
  async wait(blocked: Blocked, signal: AbortSignal): Promise<bigint | undefined> {
    this.rule = blocked;
    for (;;) {
      if (signal.aborted) throw signal.reason;
      if (this.gone) return undefined;
      if (!this.isBlocked(blocked)) return maxOf(this.since, this.feed.revision, this.lastDeletion);
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        this.wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  end(): void {
    if (this.state === 'ended') return;
    const wasJoining = this.state === 'joining';
    this.state = 'ended';
    this.feed.unregister(this, wasJoining);
    this.poke();
  }
}

function maxOf(...xs: bigint[]): bigint {
  let m = xs[0] ?? 0n;
  for (const x of xs) if (x > m) m = x;
  return m;
}

const feeds = new WeakMap<Etcd, Map<string, DeleteFollower>>();

/**
 * This client's deletion feed of `prefix`, of the kind that `counts` (see DeleteFollower);
 * opened on demand when `create`.
 */
export function followDeletes(
  client: Etcd,
  prefix: Buffer,
  o: { create: boolean; counts: boolean },
): DeleteFollower | undefined {
  let m = feeds.get(client);
  const id = `${o.counts ? 'c' : 'n'}${prefix.toString('latin1')}`;
  const existing = m?.get(id);
  if (existing && !existing.failed) return existing;
  if (!o.create || client.closed) return undefined;
  if (!m) feeds.set(client, (m = new Map()));
  const map = m;
  const f: DeleteFollower = new DeleteFollower(client, prefix, o.counts, () => {
    if (map.get(id) === f) map.delete(id);
  });
  map.set(id, f);
  return f;
}
