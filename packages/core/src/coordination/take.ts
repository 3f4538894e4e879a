import { type DeadlineReason, SessionExpiredError } from '../errors.js';
import type { Bytes } from '../internal/bytes.js';
import { abortable } from '../internal/signals.js';
import type { Session } from '../session.js';
import { sessionError } from './hold.js';
import { type Observed, observeFailed, observeTaken, observeWait } from './observe.js';
import { joinQueue, leaveQueue, pendingRemoval, type Ticket } from './queue.js';
import { type Blocked, blockedNow, waitForTurn } from './turn.js';
import { type WaitOptions, waitScope } from './wait.js';

export interface TurnRequest {
  /** The queue (e.g. `name/`) and my key in it. */
  prefix: Bytes;
  key: Bytes;
  value?: Bytes;
  aheadValues?: boolean;
  /** The queue's rule: whether the keys ahead of mine still keep me waiting. */
  blocked: Blocked;
  /** e.g. `mutex "jobs"`: the subject of error messages. */
  label: string;
  /** False: take the turn only if it is mine at once; otherwise leave the queue (tryLock). */
  wait: boolean;
  options?: WaitOptions | undefined;
  /**
   * Checks or adjustments right after the join (e.g. a semaphore's limit); a throw leaves the
   * queue. The ticket's `ahead` is filled, except in a long queue under a rule with `whileAtLeast`.
   */
  joined?: (t: Ticket, signal: AbortSignal | undefined) => Promise<void> | void;
  /** The error when my key was deleted by someone else while waiting. */
  keyGone: () => Error;
  /** What a timeout says waited (DeadlineExceededError.reason). Default 'lock-wait'. */
  timeoutReason?: DeadlineReason;
  /** Publish the wait and its outcome on the lock or election channel. */
  observed?: Observed;
}

/** A turn that is mine: the ticket and a revision at which it was certain. */
export interface Turn {
  ticket: Ticket;
  at: bigint;
}

/**
 * Join the queue and wait for my turn, the whole acquire of a lock or a campaign. On any
 * failure, abort or timeout my key is taken out of the queue (so nobody waits behind it) and
 * the error says why: the caller's AbortError, a DeadlineExceededError, the session's
 * SessionExpiredError, `keyGone()`, or what etcd answered. Undefined: not my turn (`wait` false).
 */
export async function takeTurn(session: Session, req: TurnRequest): Promise<Turn | undefined> {
  const scope = waitScope(req.label, req.options, session, req.timeoutReason);
  let ticket: Ticket | undefined;
  let joined = false;
  const obs = req.observed;
  const t0 = obs ? performance.now() : 0;
  if (obs) observeWait(obs, session, req.key);
  try {
    if (scope.aborted) throw scope.reason;
    const removal = pendingRemoval(session, req.key);
    if (removal) await abortable(removal, scope.signal);
    // Without a caller's signal or timeout the join needs no signal: it ends on its own, and
    // a session lost meanwhile is seen right after it.
    const callSignal = scope.callSignal;
    joined = true;
    ticket = await joinQueue(session, {
      prefix: req.prefix,
      key: req.key,
      ...(req.value !== undefined ? { value: req.value } : {}),
      ...(req.aheadValues ? { aheadValues: true } : {}),
      // A rule of the count alone and no values wanted: a long queue is counted instead of read.
      ...(req.blocked.whileAtLeast !== undefined && !req.aheadValues ? { countAhead: true } : {}),
      ...(callSignal ? { signal: callSignal } : {}),
    });
    await req.joined?.(ticket, callSignal);
    if (!req.wait && blockedNow(ticket, req.blocked)) {
      ticket.registration?.end();
      await leaveQueue(session, ticket.key, ticket.rev);
      if (obs) observeFailed(obs, session, req.key, performance.now() - t0, undefined);
      return undefined;
    }
    let at: bigint | undefined;
    if (blockedNow(ticket, req.blocked)) at = await waitForTurn(ticket, req.blocked, scope.signal);
    else {
      // Mine at once: no wait, and so no signal to make (waitScope).
      ticket.registration?.end();
      if (scope.aborted) throw scope.reason;
      at = ticket.revision;
    }
    if (at === undefined) throw await whyGone(session, req.keyGone);
    if (obs) observeTaken(obs, session, req.key, ticket.rev, performance.now() - t0);
    return { ticket, at };
  } catch (err) {
    const e = scope.aborted ? scope.reason : sessionError(session, err);
    if (obs) observeFailed(obs, session, req.key, performance.now() - t0, e);
    ticket?.registration?.end();
    // My key may exist (even when the join's outcome is unknown): take it out of the queue.
    if (joined && !session.expired) await leaveQueue(session, req.key, ticket?.rev);
    throw e;
  } finally {
    scope.dispose();
  }
}

/**
 * My key vanished while I waited: deleted by someone, or with my lease, which etcd may have
 * dropped (revoked, expired) before the session noticed. Ask etcd which.
 */
async function whyGone(session: Session, keyGone: () => Error): Promise<unknown> {
  if (!session.expired) {
    const ttl = await session.leaseHandle.timeToLive().then(
      (t) => t.ttl,
      () => undefined,
    );
    if (ttl === undefined || ttl > 0) return keyGone();
  }
  const reason: unknown = session.signal.reason;
  return reason instanceof SessionExpiredError ? reason : new SessionExpiredError(session.lease);
}
