import { Etcd } from '@etcdkit/core';

let counter = 0;
/** A fresh election name per test, so tests never see each other's candidates. */
export function uniqueName(what: string): string {
  return `election-test/${what}-${process.pid}-${++counter}`;
}

/** Retry `check` until it returns a value other than undefined/false, or fail after `timeoutMs`. */
export async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether `p` is still pending after the event loop had a chance to settle it. */
export async function isPending(p: Promise<unknown>, ms = 200): Promise<boolean> {
  const marker = Symbol('pending');
  const r = await Promise.race([
    p.then(
      () => 'settled',
      () => 'settled',
    ),
    new Promise((res) => setTimeout(() => res(marker), ms)),
  ]);
  return r === marker;
}

export function client(endpoints: string[], extra: ConstructorParameters<typeof Etcd>[0] = {}): Etcd {
  return new Etcd({ endpoints, ...extra });
}

/** Collect promise rejections that must never go unnoticed. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Mark a promise that is expected to reject later as handled now, so its rejection is not
 * reported as unhandled before the test gets to `await expect(p).rejects...`.
 */
export function expectedToSettle<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}
