import { AbortError, InvalidArgumentError, type Session } from '@etcdkit/core';
import { LockTimeoutError } from '../errors.js';

export interface LockOptions {
  /** Stops waiting (AbortError); the waiter key is removed so the queue moves on. */
  signal?: AbortSignal;
  /** Stops waiting after this many milliseconds (LockTimeoutError); the waiter key is removed. */
  timeoutMs?: number;
}

export function checkLockOptions(options: LockOptions | undefined, what: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError(`${what} takes an options object { signal?, timeoutMs? }`);
  const { timeoutMs, signal } = options;
  if (
    timeoutMs !== undefined &&
    (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || !Number.isFinite(timeoutMs))
  )
    throw new InvalidArgumentError(
      `${what}: timeoutMs must be a finite number of milliseconds >= 0, got ${timeoutMs}`,
    );
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new InvalidArgumentError(`${what}: signal must be an AbortSignal`);
}

/** The error that ends a wait when the caller's signal fires. */
export function abortError(label: string, signal: AbortSignal): AbortError {
  return new AbortError(`${label} was aborted`, { cause: signal.reason });
}

/**
 * One signal for everything that ends a wait: the caller's signal, the timeout and (when given)
 * the end of the session. Its reason is the error lock() throws. Listeners and the timer are removed by
 * dispose(), so a long-lived session signal does not collect listeners.
 */
export class WaitSignal {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly user: AbortSignal | undefined;
  private readonly session: AbortSignal | undefined;
  private readonly onUser = (): void => this.abort(abortError(this.label, this.user!));
  private readonly onSession = (): void => this.abort(this.session?.reason);
  private readonly label: string;

  constructor(label: string, options: LockOptions | undefined, session?: Session) {
    this.label = label;
    this.user = options?.signal;
    this.session = session?.signal;
    if (this.user?.aborted) this.onUser();
    else if (this.session?.aborted) this.onSession();
    else {
      this.user?.addEventListener('abort', this.onUser, { once: true });
      this.session?.addEventListener('abort', this.onSession, { once: true });
      const ms = options?.timeoutMs;
      if (ms !== undefined)
        this.timer = setTimeout(
          () =>
            this.abort(
              new LockTimeoutError(
                `${label} was not acquired within ${ms} ms; it is held by someone else: retry later or raise timeoutMs`,
                { reason: 'lock-wait', operation: label, timeoutMs: ms },
              ),
            ),
          ms,
        );
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  /** Why the wait ended: an AbortError, a LockTimeoutError or a SessionExpiredError. */
  get reason(): Error {
    return this.controller.signal.reason as Error;
  }

  private abort(reason: unknown): void {
    if (this.controller.signal.aborted) return;
    this.controller.abort(reason);
    this.dispose();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.user?.removeEventListener('abort', this.onUser);
    this.session?.removeEventListener('abort', this.onSession);
  }
}

/** Wait for `p`, unless `signal` fires first (then reject with its reason). */
export function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
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
