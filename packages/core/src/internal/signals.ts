import { AbortError } from '../errors.js';

/** One signal that aborts when any of its sources does, with that source's reason. */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Abort the linked signal itself (the sources are untouched). */
  abort(reason: unknown): void;
  /** Stop following the sources. Always call it: a long-lived source would keep the listeners. */
  dispose(): void;
}

/**
 * The one signal combinator. Unlike AbortSignal.any(), it can be disposed: waits made on a
 * session's signal come and go far more often than the session does.
 */
export function linkSignals(...signals: (AbortSignal | undefined)[]): LinkedSignal {
  const controller = new AbortController();
  const listeners: [AbortSignal, () => void][] = [];
  const dispose = (): void => {
    for (const [s, l] of listeners.splice(0)) s.removeEventListener('abort', l);
  };
  for (const s of signals) {
    if (s === undefined) continue;
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    const l = (): void => {
      controller.abort(s.reason);
      dispose();
    };
    s.addEventListener('abort', l, { once: true });
    listeners.push([s, l]);
  }
  if (controller.signal.aborted) dispose();
  return {
    signal: controller.signal,
    abort: (reason) => {
      controller.abort(reason);
      dispose();
    },
    dispose,
  };
}

/** Wait `ms`. Resolves true when the time passed, false as soon as `signal` aborts. Never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    // A sleep does not keep the process alive on its own (where timers can be unreferenced).
    unref(timer);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Let a timer not keep the process alive, where the runtime has that notion (not in browsers). */
export function unref(timer: unknown): void {
  (timer as { unref?: () => void } | undefined)?.unref?.();
}

/** Wait for `p` unless `signal` fires first; then reject with the signal's reason. */
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** The error for a caller's aborted signal, keeping the signal's reason as the cause. */
export function abortError(what: string, signal: AbortSignal): AbortError {
  return new AbortError(`${what} was aborted`, { cause: signal.reason });
}
