import { diagnostics } from '../diagnostics.js';
import { UnknownEtcdError } from '../errors.js';
import { type Bytes, toBuffer } from '../internal/bytes.js';
import { logOf } from '../internal/log.js';
import type { Session } from '../session.js';

/**
 * What a turn is, for the 'etcdkit:lock' and 'etcdkit:election' channels: the kernel publishes
 * the wait, the win, the failure, the release and the loss of every lock and campaign from here.
 */
export interface Observed {
  channel: 'lock' | 'election';
  /** 'mutex', 'read', 'write', 'semaphore'; 'candidate' for an election. */
  kind: string;
  /** The lock or election name as the user gave it. */
  name: string;
}

const { lock, election } = diagnostics;

function active(o: Observed): boolean {
  return o.channel === 'lock' ? lock.hasSubscribers : election.hasSubscribers;
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new UnknownEtcdError(String(e), { cause: e });
}

export function observeWait(o: Observed, session: Session, k: Bytes): void {
  if (!active(o)) return;
  const lease = session.lease;
  const key = toBuffer(k).toString();
  if (o.channel === 'lock') lock.publish({ type: 'wait', kind: o.kind, name: o.name, key, lease });
  else election.publish({ type: 'campaign', name: o.name, key, lease });
}

export function observeTaken(o: Observed, session: Session, k: Bytes, rev: bigint, waitMs: number): void {
  if (!active(o)) return;
  const lease = session.lease;
  const key = toBuffer(k).toString();
  if (o.channel === 'lock')
    lock.publish({ type: 'acquired', kind: o.kind, name: o.name, key, lease, fencingToken: rev, waitMs });
  else election.publish({ type: 'elected', name: o.name, key, lease, createRevision: rev, waitMs });
}

export function observeFailed(o: Observed, session: Session, k: Bytes, waitMs: number, error: unknown): void {
  if (!active(o)) return;
  const lease = session.lease;
  const key = toBuffer(k).toString();
  const busy = error === undefined;
  if (o.channel === 'lock')
    lock.publish({
      type: 'failed',
      kind: o.kind,
      name: o.name,
      key,
      lease,
      waitMs,
      error: busy ? undefined : asError(error),
      busy,
    });
  else if (!busy)
    election.publish({ type: 'campaign-failed', name: o.name, key, lease, waitMs, error: asError(error) });
}

/** A hold ended: given up (`released`) or taken away (`lost`, with why). */
export function observeEnd(
  o: Observed,
  session: Session,
  k: Bytes,
  rev: bigint,
  heldMs: number,
  error: unknown,
): void {
  const lost = error !== undefined;
  const key = toBuffer(k).toString();
  if (lost) {
    const log = logOf(session.client);
    if (log.enabled)
      log.warn(
        `${o.channel}-lost:${o.name}`,
        { [o.channel]: o.name, key, err: error },
        `etcdkit: ${o.channel === 'lock' ? `lock ${JSON.stringify(o.name)}` : `leadership of ${JSON.stringify(o.name)}`} was lost: ${asError(error).message}`,
      );
  }
  if (!active(o)) return;
  const lease = session.lease;
  if (o.channel === 'lock') {
    if (lost)
      lock.publish({
        type: 'lost',
        kind: o.kind,
        name: o.name,
        key,
        lease,
        fencingToken: rev,
        holdMs: heldMs,
        error: asError(error),
      });
    else
      lock.publish({
        type: 'released',
        kind: o.kind,
        name: o.name,
        key,
        lease,
        fencingToken: rev,
        holdMs: heldMs,
      });
  } else if (lost)
    election.publish({ type: 'lost', name: o.name, key, lease, leadMs: heldMs, error: asError(error) });
  else election.publish({ type: 'resigned', name: o.name, key, lease, leadMs: heldMs });
}
