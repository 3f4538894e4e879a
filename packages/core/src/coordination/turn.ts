import { ClientClosedError, CompactedError, DeadlineExceededError, UnavailableError } from '../errors.js';
import { abortable } from '../internal/signals.js';
import type { KeyValue } from '../kv.js';
import { op } from '../txn.js';
import { FeedClosed, followDeletes, type Registration } from './deletes.js';
import { NAMED_QUEUE_MAX, type Ticket } from './queue.js';

/**
 * Whether the keys still ahead of me keep me waiting: the rule of each kind of queue. A rule
 * that depends only on how many are ahead says so with `whileAtLeast` (blocked while at least
 * that many are): a waiter then checks a count at each deletion and wakes only when it is free.
 */
export type Blocked = ((ahead: readonly KeyValue[]) => boolean) & { readonly whileAtLeast?: number };

/** Whether `blocked` holds for the keys ahead of a ticket as joined (by their count when the rule needs no more). */
export function blockedNow(t: Ticket, blocked: Blocked): boolean {
  const n = blocked.whileAtLeast;
  return n !== undefined ? t.aheadCount >= n : blocked(t.ahead);
}

/** A Mutex or Election: anyone ahead. */
export const anyoneAhead: Blocked = Object.assign((ahead: readonly KeyValue[]) => ahead.length > 0, {
  whileAtLeast: 1,
});

/**
 * Wait for my turn in the queue of `ticket`: until `blocked` no longer holds for the keys
 * created before mine that still exist. Resolves with a revision at which the turn is certain,
 * or with undefined when my key was deleted meanwhile (by someone else, or with the lease).
 * Rejects with `signal`'s reason when it aborts; the caller leaves the queue.
 *
 * No read confirms the turn: the keys ahead are known from the join, and their deletions come
 * from this client's deletion feed of the prefix (deletes.ts). Only when no feed was open at
 * the join, or it broke (compaction, a closed feed), is the queue read once more.
 */
export async function waitForTurn(
  t: Ticket,
  blocked: Blocked,
  signal: AbortSignal,
): Promise<bigint | undefined> {
  let reg: Registration | undefined = t.registration;
  try {
    if (!blockedNow(t, blocked)) return t.revision;
    for (;;) {
      if (signal.aborted) throw signal.reason;
      if (!reg || reg.failed) {
        reg?.end();
        reg = undefined;
        const fresh = await rejoin(t, signal);
        if (fresh === undefined) return undefined;
        reg = fresh;
      }
      try {
        return await reg.wait(blocked, signal);
      } catch (err) {
        if (signal.aborted || !recoverable(err)) throw err;
        reg.end();
        reg = undefined;
      }
    }
  } finally {
    reg?.end();
  }
}

function recoverable(err: unknown): boolean {
  if (err instanceof ClientClosedError) return false;
  return (
    err instanceof FeedClosed ||
    err instanceof CompactedError ||
    err instanceof UnavailableError ||
    err instanceof DeadlineExceededError
  );
}

/**
 * Open (or reuse) the feed, then read what is still ahead of me at a revision the feed covers:
 * one transaction, my key and the keys created before it. Undefined when my key is gone.
 */
async function rejoin(t: Ticket, signal: AbortSignal): Promise<Registration | undefined> {
  const client = t.session.client;
  // The read below names every key ahead, whatever the kind of feed; a long queue opens the
  // counting kind, so that the next joins on this client can count instead of reading them all.
  const feed = followDeletes(client, t.prefix, { create: true, counts: t.aheadCount >= NAMED_QUEUE_MAX });
  if (!feed) throw new ClientClosedError();
  const reg = feed.register();
  try {
    await abortable(feed.ready, signal);
    const r = await client
      .txn()
      .then(
        op.get(t.key),
        op.get({
          prefix: t.prefix,
          // maxCreateRevision 0 means "no bound"; a key at revision 1 has nobody ahead anyway.
          maxCreateRevision: t.rev > 1n ? t.rev - 1n : 1n,
          sort: { target: 'create', order: 'ascend' },
          keysOnly: !t.aheadValues,
        }),
      )
      .commit({ signal });
    const own = r.responses[0]?.type === 'range' ? r.responses[0].kvs[0] : undefined;
    if (own?.createRevision !== t.rev) {
      reg.end();
      return undefined;
    }
    const ahead =
      r.responses[1]?.type === 'range' ? r.responses[1].kvs.filter((kv) => kv.createRevision < t.rev) : [];
    reg.start(r.revision, t.key, ahead);
    return reg;
  } catch (err) {
    reg.end();
    throw err;
  }
}
