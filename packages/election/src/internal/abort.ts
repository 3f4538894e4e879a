import { AbortError } from '@etcdkit/core';

/** One signal that aborts when any of `signals` does, with that signal's reason. */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Abort the linked signal itself (the sources are untouched). */
  abort(reason: unknown): void;
  /** Stop following the sources (always call it: the listeners would otherwise stay). */
  dispose(): void;
}

export function linkSignals(...signals: (AbortSignal | undefined)[]): LinkedSignal {
  const controller = new AbortController();
  const sources = signals.filter((s): s is AbortSignal => s !== undefined);
  const listeners: [AbortSignal, () => void][] = [];
  const dispose = (): void => {
    for (const [s, l] of listeners.splice(0)) s.removeEventListener('abort', l);
  };
  for (const s of sources) {
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
  return { signal: controller.signal, abort: (reason) => controller.abort(reason), dispose };
}

/** Wait `ms`; resolves early (false) when `signal` aborts, true when the time passed. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (slept: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(slept);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** An AbortError for a caller's aborted signal, keeping its reason as the cause. */
export function abortError(what: string, signal: AbortSignal): AbortError {
  return new AbortError(`${what} was aborted`, { cause: signal.reason });
}
