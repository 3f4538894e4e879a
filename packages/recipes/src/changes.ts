import { type Etcd, WatchCanceledError, type Watcher } from '@etcdkit/core';
import { Backoff, type LongTimer, longTimer, type WaitScope } from '@etcdkit/core/internal';

/**
 * Wakes a waiting consumer when anything changes under a prefix, or at a wall-clock time. The
 * watch starts from now and is in place before the caller's next read (`await ready()`), so a
 * change between that read and the wait is never missed: its event is already queued. Events
 * only say "read again"; their content is not used, so a dropped one loses nothing.
 */
export class Changes {
  private readonly watcher: Watcher;
  private readonly events: AsyncIterator<unknown>;
  private pending: Promise<IteratorResult<unknown>> | undefined;

  /** `puts`: only puts wake the waiter (deletes cannot make an item available). */
  constructor(client: Etcd, prefix: string, signal: AbortSignal, only?: 'puts') {
    this.watcher = client.watch({ prefix, signal, ...(only ? { filters: { noDelete: true } } : {}) });
    this.events = this.watcher[Symbol.asyncIterator]();
  }

  /** Resolves once etcd has the watch: read after this, then wait(). */
  async ready(): Promise<void> {
    await this.watcher.ready;
  }

  /**
   * Resolves at the next change under the prefix, or at `wakeAt` (ms since the epoch) if that
   * comes first. Rejects with the signal's reason when it aborts (the watch's iterator does).
   */
  async wait(wakeAt: number | undefined): Promise<void> {
    if (!this.pending) {
      const p = this.events.next();
      p.catch(() => {}); // seen by whoever awaits it; a wait ended by the timer may not
      this.pending = p;
    }
    let timer: LongTimer | undefined;
    try {
      const timeUp =
        wakeAt === undefined
          ? undefined
          : new Promise<'time'>((resolve) => {
              timer = longTimer(() => resolve('time'), wakeAt - Date.now());
            });
      const r = await (timeUp ? Promise.race([this.pending, timeUp]) : this.pending);
      if (r === 'time') return;
      this.pending = undefined;
      if (r.done) throw new WatchCanceledError('the watch of a waiting queue consumer ended; call again');
    } finally {
      timer?.clear();
    }
  }

  close(): void {
    this.watcher.close();
  }
}

/** What one look at a queue found: an item taken, items all lost to other consumers, or none to take. */
export type Attempt<T> = { taken: T } | { lost: true } | { none: true; wakeAt?: number | undefined };

/**
 * The consumer loop every queue shares: `attempt()` reads what is there and tries to take it.
 * When other consumers got everything it read, it reads again after a short backoff (not all in
 * lockstep). When there was nothing, it starts a watch from now and reads once more before
 * waiting (so no change in between is missed), then waits for a change or `wakeAt`. Ends with the
 * item taken, or with the scope's reason once it aborts.
 */
export async function takeWhenAvailable<T>(
  client: Etcd,
  prefix: string,
  scope: WaitScope,
  only: 'puts' | undefined,
  attempt: (signal: AbortSignal) => Promise<Attempt<T>>,
): Promise<T> {
  const signal = scope.signal;
  const backoff = new Backoff({ baseMs: 2, capMs: 50 });
  let changes: Changes | undefined;
  try {
    for (;;) {
      if (scope.aborted) throw scope.reason;
      const found = await attempt(signal);
      if ('taken' in found) return found.taken;
      if ('lost' in found) {
        if (!(await backoff.wait(signal))) throw scope.reason;
      } else if (!changes) {
        changes = new Changes(client, prefix, signal, only);
        await changes.ready();
      } else await changes.wait(found.wakeAt);
    }
  } finally {
    changes?.close();
  }
}
