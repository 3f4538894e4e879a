import {
  type Bytes,
  CompactedError,
  DeadlineExceededError,
  type Etcd,
  UnavailableError,
  type WatchBatch,
  type Watcher,
} from '@etcdkit/core';
import {
  Backoff,
  linkSignals,
  type Observer,
  SharedObservable,
  type SubscribeOptions,
  type Subscription,
  toAsyncIterator,
} from '@etcdkit/core/internal';
import { electionPrefix } from './internal/keys.js';
import { type Leader, readLeader, sameLeader, toLeader } from './leader.js';

/** Options of {@link observeLeader} and `Election.observe()`. */
export interface ObserveOptions {
  /** Ends the observation: iteration then finishes normally and subscribers get `complete`. */
  signal?: AbortSignal;
}

/** What `subscribe()` accepts besides a callback: etcdkit's one Observer shape. */
export type LeaderObserver = Observer<Leader | undefined>;

/** etcdkit's one Subscription shape: `sub.unsubscribe()` or `sub()`, and `sub.closed`. */
export type { Subscription };

const NOTHING_YET = Symbol('nothing yet');

function isTransient(err: unknown): boolean {
  return err instanceof UnavailableError || err instanceof DeadlineExceededError;
}

/**
 * The leader of an election as a stream: the current leader (or `undefined` when there is
 * none), then every change: another leader, a new proclaimed value, no leader. Consecutive
 * identical states are not repeated.
 *
 * It is both an async iterable and an Observable (`subscribe()`, `Symbol.observable`). The
 * iterations and subscriptions of one observation that overlap in time share one read and one
 * watch: each starts with the leader as last seen, then gets every change. When the last one
 * ends, the watch is closed; the next starts afresh. The watch resumes where it stopped when the
 * client reconnects, and if that history was compacted the leader is read again.
 *
 * A callback that throws is reported as an uncaught exception (from a microtask); the other
 * subscribers, and its own subscription, go on.
 */
export class LeaderObservation
  extends SharedObservable<Leader | undefined>
  implements AsyncIterable<Leader | undefined>
{
  /** @internal use Election.observe() or observeLeader() */
  constructor(client: Etcd, prefix: Buffer, options: ObserveOptions = {}) {
    const until = options.signal;
    super(
      async (emit, stop) => {
        const linked = linkSignals(stop, until);
        try {
          await follow(client, prefix, linked.signal, emit);
        } finally {
          linked.dispose();
        }
      },
      { replay: true },
    );
  }

  /**
   * Iterate the leader: the current one (or `undefined`), then each change. Ends when the options'
   * signal aborts; throws when the observation fails for good (e.g. permission denied, client
   * closed).
   *
   * @example
   * ```ts
   * for await (const leader of observeLeader(etcd, 'scheduler', { signal })) {
   *   console.log(leader ? `leader: ${leader.value}` : 'no leader');
   * }
   * ```
   */
  [Symbol.asyncIterator](): AsyncGenerator<Leader | undefined, void, undefined> {
    return toAsyncIterator(this);
  }

  /**
   * Push each leader to `observer` until `unsubscribe()` (or the options' signal, which sends
   * `complete`). Errors that end the observation (e.g. permission denied, client closed) go to
   * `observer.error`; without one they are reported as an uncaught exception.
   */
  override subscribe(
    observer: LeaderObserver | ((leader: Leader | undefined) => void),
    options?: SubscribeOptions,
  ): Subscription {
    return super.subscribe(observer, options);
  }
}

/** Observe an election without taking part in it (no session needed), like `etcdctl elect -l`. */
export function observeLeader(etcd: Etcd, name: Bytes, options: ObserveOptions = {}): LeaderObservation {
  return new LeaderObservation(etcd, electionPrefix(name), options);
}

/** Fold one revision of events into the leader; `reread` when it must be read again. */
function applyBatch(
  current: Leader | undefined,
  batch: WatchBatch,
): { next: Leader | undefined; reread: boolean } {
  let next = current;
  for (const ev of batch.events) {
    if (next) {
      // Later keys cannot overtake the leader; only its own key matters.
      if (!ev.kv.key.equals(next.key)) continue;
      if (ev.type === 'delete') return { next: undefined, reread: true };
      next = toLeader(ev.kv);
    } else if (ev.type === 'put') {
      // First candidate(s) after an empty election: read which one was created first.
      return { next: undefined, reread: true };
    }
  }
  return { next, reread: false };
}

/**
 * Emit the leader, then each change, until `signal` aborts (then it returns) or a failure that
 * retrying cannot mend (then it throws). Transient failures are retried with backoff.
 */
async function follow(
  client: Etcd,
  prefix: Buffer,
  signal: AbortSignal,
  emit: (leader: Leader | undefined) => void,
): Promise<void> {
  let last: Leader | undefined | typeof NOTHING_YET = NOTHING_YET;
  const publish = (leader: Leader | undefined): void => {
    if (last !== NOTHING_YET && sameLeader(last, leader)) return;
    last = leader;
    emit(leader);
  };
  const backoff = new Backoff({ baseMs: 100, capMs: 2000 });
  let pause = false;
  while (!signal.aborted) {
    if (pause && !(await backoff.wait(signal))) return;
    pause = false;
    let watcher: Watcher | undefined;
    try {
      const start = await readLeader(client, prefix, { signal });
      let current = start.leader;
      publish(current);
      backoff.reset();
      watcher = client.watch({ prefix, startRevision: start.revision + 1n, signal });
      for await (const batch of watcher.batches()) {
        const { next, reread } = applyBatch(current, batch);
        // Reading at the batch's revision keeps the read in step with the watch.
        current = reread
          ? (await readLeader(client, prefix, { revision: batch.revision, signal })).leader
          : next;
        publish(current);
      }
      // The watch only ends without an error when something closed it: start over, unhurried.
      pause = true;
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof CompactedError) continue;
      if (!isTransient(err)) throw err;
      pause = true;
    } finally {
      watcher?.close();
    }
  }
}
