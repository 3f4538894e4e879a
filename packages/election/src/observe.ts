import {
  type Bytes,
  CompactedError,
  DeadlineExceededError,
  type Etcd,
  symbolObservable,
  UnavailableError,
  type WatchBatch,
  type Watcher,
} from '@etcdkit/core';
import { linkSignals, sleep } from './internal/abort.js';
import { electionPrefix } from './internal/bytes.js';
import { type Leader, readLeader, sameLeader, toLeader } from './leader.js';

export interface ObserveOptions {
  /** Ends the observation: iteration then finishes normally and subscribers get `complete`. */
  signal?: AbortSignal;
}

/** What `subscribe()` accepts: a callback for each leader, or an observer. */
export interface LeaderObserver {
  next?(leader: Leader | undefined): void;
  error?(error: unknown): void;
  complete?(): void;
}

export interface Subscription {
  unsubscribe(): void;
  readonly closed: boolean;
}

/** `Symbol.observable` (core defines it where the runtime does not); '@@observable' is kept too. */
const observableSymbol: symbol = symbolObservable;

const NOTHING_YET = Symbol('nothing yet');
const MAX_BACKOFF_MS = 2000;

function isTransient(err: unknown): boolean {
  return err instanceof UnavailableError || err instanceof DeadlineExceededError;
}

/**
 * The leader of an election as a stream: the current leader (or `undefined` when there is
 * none), then every change: another leader, a new proclaimed value, no leader. Consecutive
 * identical states are not repeated.
 *
 * It is both an async iterable and an Observable (`subscribe()`, `Symbol.observable`). Each
 * iteration or subscription is independent: it reads the leader, then watches the election's
 * keys from the revision it read, so no change is missed; when the client reconnects the watch
 * resumes where it stopped, and if that history was compacted it reads the leader again.
 */
export class LeaderObservation implements AsyncIterable<Leader | undefined> {
  private readonly client: Etcd;
  private readonly prefix: Buffer;
  private readonly signal: AbortSignal | undefined;

  /** @internal use Election.observe() or observeLeader() */
  constructor(client: Etcd, prefix: Buffer, options: ObserveOptions = {}) {
    this.client = client;
    this.prefix = prefix;
    this.signal = options.signal;
  }

  [Symbol.asyncIterator](): AsyncGenerator<Leader | undefined, void, undefined> {
    return observe(this.client, this.prefix, this.signal);
  }

  /**
   * Push each leader to `observer` until `unsubscribe()` (or the options' signal). Errors that
   * end the observation (e.g. permission denied, client closed) go to `observer.error`.
   */
  subscribe(observer: LeaderObserver | ((leader: Leader | undefined) => void)): Subscription {
    const o: LeaderObserver = typeof observer === 'function' ? { next: observer } : observer;
    const stop = new AbortController();
    const linked = linkSignals(stop.signal, this.signal);
    let closed = false;
    const run = async (): Promise<void> => {
      try {
        for await (const leader of observe(this.client, this.prefix, linked.signal)) {
          if (stop.signal.aborted) return;
          o.next?.(leader);
        }
        if (!stop.signal.aborted) o.complete?.();
      } catch (err) {
        if (stop.signal.aborted) return;
        if (o.error) o.error(err);
        else throw err;
      } finally {
        closed = true;
        linked.dispose();
      }
    };
    // Without an error callback, a failure is the subscriber's unhandled error, as in RxJS.
    void run();
    return {
      unsubscribe: () => {
        closed = true;
        stop.abort();
      },
      get closed() {
        return closed;
      },
    };
  }

  /** Interop with Observable libraries; also under `Symbol.observable` when the runtime has it. */
  '@@observable'(): this {
    return this;
  }
}

if (observableSymbol)
  Object.defineProperty(LeaderObservation.prototype, observableSymbol, {
    value(this: LeaderObservation) {
      return this;
    },
    configurable: true,
    writable: true,
  });

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

async function* observe(
  client: Etcd,
  prefix: Buffer,
  signal: AbortSignal | undefined,
): AsyncGenerator<Leader | undefined, void, undefined> {
  let last: Leader | undefined | typeof NOTHING_YET = NOTHING_YET;
  let backoffMs = 0;
  for (;;) {
    if (signal?.aborted) return;
    if (backoffMs > 0 && !(await sleep(backoffMs, signal))) return;
    let watcher: Watcher | undefined;
    try {
      const start = await readLeader(client, prefix, signal ? { signal } : {});
      let current = start.leader;
      if (last === NOTHING_YET || !sameLeader(last, current)) {
        last = current;
        yield current;
      }
      backoffMs = 0;
      const w = client.watch({ prefix, startRevision: start.revision + 1n, ...(signal ? { signal } : {}) });
      watcher = w;
      for await (const batch of w.batches()) {
        const { next, reread } = applyBatch(current, batch);
        // Reading at the batch's revision keeps the read in step with the watch.
        current = reread
          ? (await readLeader(client, prefix, { revision: batch.revision, ...(signal ? { signal } : {}) }))
              .leader
          : next;
        if (!sameLeader(last, current)) {
          last = current;
          yield current;
        }
      }
      // The watch only ends without an error when something closed it: start over, unhurried.
      backoffMs = 100;
    } catch (err) {
      if (signal?.aborted) return;
      if (err instanceof CompactedError) continue;
      if (!isTransient(err)) throw err;
      backoffMs = Math.min(Math.max(backoffMs * 2, 100), MAX_BACKOFF_MS);
    } finally {
      watcher?.close();
    }
  }
}
