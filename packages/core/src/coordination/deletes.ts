import { AbortError } from '../errors.js';
import type { Etcd } from '../etcd.js';
import type { KeyValue } from '../kv.js';
import type { WatchBatch, Watcher } from '../watch.js';

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
 */
export class DeleteFollower {
  readonly prefix: Buffer;
  private readonly watcher: Watcher;
  private readonly regs = new Set<Registration>();
  private joining = 0;
  /** Latest deletion revision per key, kept only while some registration is joining. */
  private readonly log = new Map<string, bigint>();
  private processed = 0n;
  private lingerTimer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  private readonly onClose: () => void;
  /** Resolves once etcd confirmed the watch; every deletion after that revision is seen. */
  readonly ready: Promise<bigint>;

  constructor(client: Etcd, prefix: Buffer, onClose: () => void) {
    this.prefix = prefix;
    this.onClose = onClose;
    this.watcher = client.watch({ prefix, filters: { noPut: true } });
    this.ready = this.watcher.ready.then((rev) => {
      if (rev > this.processed) this.processed = rev;
      return rev;
    });
    this.ready.catch(() => {}); // a failure reaches the registrations through fail()
    void this.run();
  }

  get failed(): Error | undefined {
    return this.failure;
  }

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
  started(revision: bigint): Map<string, bigint> {
    this.joining--;
    const relevant = new Map<string, bigint>();
    for (const [k, rev] of this.log) if (rev > revision) relevant.set(k, rev);
    if (this.joining === 0) this.log.clear();
    return relevant;
  }

  /** @internal */
  unregister(reg: Registration, wasJoining: boolean): void {
    if (!this.regs.delete(reg)) return;
    if (wasJoining && --this.joining === 0) this.log.clear();
    if (this.regs.size === 0 && !this.failure) {
      // Kept a little while: the next wait on this prefix then needs no watch and no read.
      this.lingerTimer = setTimeout(() => this.close(), LINGER_MS);
      this.lingerTimer.unref();
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
    // Each key spelled once per batch, not once per waiter.
    const keys = b.events.map((ev) => ev.kv.key.toString('latin1'));
    if (this.joining > 0) for (const k of keys) this.log.set(k, b.revision);
    for (const reg of this.regs) reg.deleted(b.revision, keys);
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

/** One waiter's view of the queue: the keys still ahead of it. */
export class Registration {
  private readonly feed: DeleteFollower;
  private state: 'joining' | 'started' | 'ended' = 'joining';
  private since = 0n;
  private mine: string | undefined;
  private readonly ahead = new Map<string, KeyValue>();
  private gone = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private lastDeletion = 0n;

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
    for (const [k, rev] of this.feed.started(revision)) this.remove(k, rev);
  }

  /** @internal the keys (latin1) deleted at one revision; the waiter wakes only if one concerned it */
  deleted(revision: bigint, keys: readonly string[]): void {
    if (this.state !== 'started' || revision <= this.since) return;
    let changed = false;
    for (const k of keys) if (this.remove(k, revision)) changed = true;
    if (changed) this.poke();
  }

  /** True when `k` was my key or one ahead of me. */
  private remove(k: string, revision: bigint): boolean {
    if (k === this.mine) {
      this.gone = true;
      return true;
    }
    if (!this.ahead.delete(k)) return false;
    if (revision > this.lastDeletion) this.lastDeletion = revision;
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
  async wait(
    blocked: (ahead: readonly KeyValue[]) => boolean,
    signal: AbortSignal,
  ): Promise<bigint | undefined> {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      if (this.gone) return undefined;
      if (!blocked([...this.ahead.values()])) return maxOf(this.since, this.feed.revision, this.lastDeletion);
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

/** This client's deletion feed of `prefix`; opened on demand unless `create` is false. */
export function followDeletes(
  client: Etcd,
  prefix: Buffer,
  o: { create: boolean },
): DeleteFollower | undefined {
  let m = feeds.get(client);
  const id = prefix.toString('latin1');
  const existing = m?.get(id);
  if (existing && !existing.failed) return existing;
  if (!o.create || client.closed) return undefined;
  if (!m) feeds.set(client, (m = new Map()));
  const map = m;
  const f: DeleteFollower = new DeleteFollower(client, prefix, () => {
    if (map.get(id) === f) map.delete(id);
  });
  map.set(id, f);
  return f;
}
