import { CompactedError } from '../errors.js';
import type { Bytes } from '../internal/bytes.js';
import { toBuffer } from '../internal/bytes.js';
import type { Session } from '../session.js';
import type { Watcher } from '../watch.js';

/** Why ownership of a key ended, for the caller to turn into its own error. */
export type LossCause =
  /** The key was deleted, or replaced by a key with another create revision. */
  | { kind: 'deleted' }
  /** The key can no longer be followed (a watch or read failed for good): ownership cannot be vouched for. */
  | { kind: 'unfollowable'; error: unknown };

export interface Ownership {
  /** Aborts when ownership ends: the session's reason when the session is lost, else `lost(cause)`. */
  readonly signal: AbortSignal;
  /** Stop following, aborting the signal with `reason` (e.g. "released by unlock()"). */
  stop(reason: unknown): void;
}

/**
 * Follow ownership of `key`, which has create revision `rev` and was owned at revision `at`:
 * one watch on the key from `at + 1` (deletes only) and the session's signal. If the history
 * since `at` was compacted, the key is read once and followed on from there.
 */
export function followOwnership(
  session: Session,
  key: Bytes,
  rev: bigint,
  at: bigint,
  lost: (cause: LossCause) => unknown,
): Ownership {
  const k = toBuffer(key);
  const controller = new AbortController();
  const signal = controller.signal;
  let watcher: Watcher | undefined;
  const end = (reason: unknown): void => {
    if (signal.aborted) return;
    controller.abort(reason);
    session.signal.removeEventListener('abort', onSession);
    watcher?.close();
  };
  const onSession = (): void => end(session.signal.reason);
  const lose = (cause: LossCause): void => end(session.expired ? session.signal.reason : lost(cause));

  async function follow(from: bigint): Promise<void> {
    let w: Watcher;
    try {
      w = session.client.watch({ key: k, startRevision: from, filters: { noPut: true } });
    } catch (err) {
      return lose({ kind: 'unfollowable', error: err });
    }
    watcher = w;
    try {
      for await (const ev of w) {
        if (ev.type === 'delete') return lose({ kind: 'deleted' });
      }
    } catch (err) {
      if (signal.aborted) return;
      if (!(err instanceof CompactedError)) return lose({ kind: 'unfollowable', error: err });
      // The history since `from` is gone: look at the key now and follow on from there.
      try {
        const r = await session.client.range({ key: k });
        if (signal.aborted) return;
        if (r.kvs[0]?.createRevision !== rev) return lose({ kind: 'deleted' });
        return follow(r.revision + 1n);
      } catch (readErr) {
        if (!signal.aborted) lose({ kind: 'unfollowable', error: readErr });
      }
    } finally {
      w.close();
    }
  }

  if (session.expired) end(session.signal.reason);
  else {
    session.signal.addEventListener('abort', onSession, { once: true });
    void follow(at + 1n);
  }
  return { signal, stop: end };
}
