import type { Discovery, Instance } from '../src/index.js';

/**
 * Resolves with the first list `svc` publishes that satisfies `ok` (the current one included).
 * The deadline only turns a hang into a readable failure; it is not a timing assertion.
 */
export function untilList(
  svc: Discovery,
  ok: (list: readonly Instance[]) => boolean,
  what: string,
  deadlineMs = 30_000,
): Promise<readonly Instance[]> {
  return new Promise((resolve, reject) => {
    let last: readonly Instance[] = [];
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error(`timed out waiting for ${what}; last list: ${JSON.stringify(last)}`));
    }, deadlineMs);
    let done = false;
    const sub = svc.subscribe((list) => {
      last = list;
      if (done || !ok(list)) return;
      done = true;
      clearTimeout(timer);
      // The first call comes during subscribe(), before `sub` is assigned.
      queueMicrotask(() => sub.unsubscribe());
      resolve(list);
    });
  });
}

/** Resolves with the arguments of the next `event` emitted by `emitter`. */
export function nextEvent<A extends unknown[]>(
  emitter: object,
  event: string,
  deadlineMs = 30_000,
): Promise<A> {
  const e = emitter as { once(event: string, fn: (...args: unknown[]) => void): unknown };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for the ${event} event`)), deadlineMs);
    e.once(event, (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args as A);
    });
  });
}
