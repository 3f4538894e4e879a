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
 *
 * When only the session can end the wait (no caller signal, no timeout), the signal is made on
 * first use: a lock that is free at once never waits, and its calls end on their own, so it
 * needs no signal at all (making one and listening on the session cost more than the rest of
 * an uncontended lock's client work).
 */
export interface WaitScope extends LinkedSignal {
  readonly aborted: boolean;
  readonly reason: Error;
  /**
   * The signal for calls that end on their own (an RPC with its deadline): undefined when only
   * the session can end the wait, whose end such a call does not need to see at once.
   */
  readonly callSignal: AbortSignal | undefined;
}

export function waitScope(
  what: string,
  options: WaitOptions | undefined,
  session?: Session,
  reason: DeadlineReason = 'lock-wait',
): WaitScope {
  const caller = options?.signal;
  const ms = options?.timeoutMs;
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  let listening = false;
  const onCaller = (): void => scope.abort(abortError(what, caller!));
  const onSession = (): void => scope.abort(session!.signal.reason);
  const dispose = (): void => {
    clearTimeout(timer);
    if (!listening) return;
    listening = false;
    caller?.removeEventListener('abort', onCaller);
    session?.signal.removeEventListener('abort', onSession);
  };
  const live = (): AbortController => {
    if (controller) return controller;
    const c = new AbortController();
    controller = c;
    if (caller?.aborted) onCaller();
    else if (session?.expired) onSession();
    else {
      listening = true;
      caller?.addEventListener('abort', onCaller, { once: true });
      session?.signal.addEventListener('abort', onSession, { once: true });
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
    return c;
  };
  const eager = caller !== undefined || ms !== undefined;
  const scope: WaitScope = {
    get signal() {
      return live().signal;
    },
    get callSignal() {
      return eager ? live().signal : undefined;
    },
    get aborted() {
      return controller ? controller.signal.aborted : session?.expired === true;
    },
    get reason() {
      return (controller ? controller.signal.reason : session?.signal.reason) as Error;
    },
    abort(reason) {
      const c = live();
      if (c.signal.aborted) return;
      c.abort(reason);
      dispose();
    },
    dispose,
  };
  // The timer runs from the start of the wait, the caller's abort is seen at once.
  if (eager) live();
  return scope;
}
