import { DeadlineExceededError, type DeadlineReason, InvalidArgumentError } from '../errors.js';
import { abortError, type LinkedSignal } from '../internal/signals.js';
import { MAX_TIMER_MS } from '../internal/timers.js';
import type { Session } from '../session.js';

/**
 * What every wait of a primitive takes. (Not exported by a public entry: the reference shows
 * its fields wherever it is used.)
 *
 * @inline
 */
export interface WaitOptions {
  /** Stops waiting (AbortError); what the wait had queued is withdrawn. */
  signal?: AbortSignal;
  /** Stops waiting after this many milliseconds (DeadlineExceededError); what was queued is withdrawn. */
  timeoutMs?: number;
}

/** Check a WaitOptions object at the API edge; `what` names the call in the error. */
export function checkWaitOptions(options: WaitOptions | undefined, what: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError(`${what} takes an options object { signal?, timeoutMs? }`);
  const { timeoutMs, signal } = options;
  if (
    timeoutMs !== undefined &&
    (typeof timeoutMs !== 'number' ||
      !Number.isFinite(timeoutMs) ||
      timeoutMs < 0 ||
      timeoutMs > MAX_TIMER_MS)
  )
    throw new InvalidArgumentError(
      `${what}: timeoutMs must be a number of milliseconds from 0 to ${MAX_TIMER_MS}, got ${String(timeoutMs)}`,
    );
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new InvalidArgumentError(`${what}: signal must be an AbortSignal`);
}

/**
 * One signal for everything that ends a wait: the caller's signal (AbortError), the timeout
 * (DeadlineExceededError) and the session's end (its SessionExpiredError). Its reason is the
 * error the wait throws. dispose() removes the listeners and the timer.
 */
export interface WaitScope extends LinkedSignal {
  readonly aborted: boolean;
  readonly reason: Error;
}

export function waitScope(
  what: string,
  options: WaitOptions | undefined,
  session?: Session,
  reason: DeadlineReason = 'lock-wait',
): WaitScope {
  const caller = options?.signal;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onCaller = (): void => scope.abort(abortError(what, caller!));
  const onSession = (): void => scope.abort(session!.signal.reason);
  const dispose = (): void => {
    clearTimeout(timer);
    caller?.removeEventListener('abort', onCaller);
    session?.signal.removeEventListener('abort', onSession);
  };
  const scope: WaitScope = {
    signal: controller.signal,
    get aborted() {
      return controller.signal.aborted;
    },
    get reason() {
      return controller.signal.reason as Error;
    },
    abort(reason) {
      if (controller.signal.aborted) return;
      controller.abort(reason);
      dispose();
    },
    dispose,
  };
  if (caller?.aborted) onCaller();
  else if (session?.expired) onSession();
  else {
    caller?.addEventListener('abort', onCaller, { once: true });
    session?.signal.addEventListener('abort', onSession, { once: true });
    const ms = options?.timeoutMs;
    if (ms !== undefined)
      timer = setTimeout(
        () =>
          scope.abort(
            new DeadlineExceededError(`${what}: not done within ${ms} ms; retry later or raise timeoutMs`, {
              timeoutMs: ms,
              reason,
              operation: what,
            }),
          ),
        ms,
      );
  }
  return scope;
}
