import type { Session } from '@etcdkit/core';

/**
 * Which object of this process uses a lock name on a session. A lock key is
 * `<name>/<lease hex>`, so two objects on one session would share a single key and both
 * believe they own the lock; the registry refuses the second one instead. It also remembers a
 * key removal still being retried, so the next user of the name waits for it rather than
 * adopting a key that is about to be deleted.
 */
interface Slot {
  owner: object | undefined;
  removal: Promise<void> | undefined;
}

const sessions = new WeakMap<Session, Map<string, Slot>>();

function slots(session: Session): Map<string, Slot> {
  let m = sessions.get(session);
  if (!m) sessions.set(session, (m = new Map()));
  return m;
}

/** The object holding or acquiring `id` on this session, if any. */
export function ownerOf(session: Session, id: string): object | undefined {
  return sessions.get(session)?.get(id)?.owner;
}

/** A key removal of `id` still under way, if any. */
export function pendingRemoval(session: Session, id: string): Promise<void> | undefined {
  return sessions.get(session)?.get(id)?.removal;
}

/** Mark `owner` as the user of `id`. The caller checked ownerOf() first. */
export function claim(session: Session, id: string, owner: object): void {
  const m = slots(session);
  const slot = m.get(id);
  if (slot) slot.owner = owner;
  else m.set(id, { owner, removal: undefined });
}

export function unclaim(session: Session, id: string, owner: object): void {
  const m = sessions.get(session);
  const slot = m?.get(id);
  if (!m || !slot || slot.owner !== owner) return;
  slot.owner = undefined;
  if (!slot.removal) m.delete(id);
}

/** Record a removal being retried in the background; forgotten once it settles. */
export function trackRemoval(session: Session, id: string, removal: Promise<void>): void {
  const m = slots(session);
  let slot = m.get(id);
  if (!slot) m.set(id, (slot = { owner: undefined, removal }));
  else slot.removal = removal;
  const s = slot;
  const settled = (): void => {
    if (s.removal !== removal) return;
    s.removal = undefined;
    if (!s.owner && m.get(id) === s) m.delete(id);
  };
  // Removals report their own outcome; here only their end matters.
  removal.then(settled, settled);
}
