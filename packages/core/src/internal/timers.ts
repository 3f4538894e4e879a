import { unref } from './signals.js';

/** The longest delay Node's setTimeout takes as given; a longer one fires after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer for any delay; clear() it like a timeout. */
export interface LongTimer {
  clear(): void;
}

/**
 * setTimeout for delays of any length: one past Node's limit (about 24.8 days) runs as a chain
 * of timers of at most that limit, each re-aimed at the same wall-clock moment. `unref`: the
 * timer does not keep the process alive.
 */
export function longTimer(fn: () => void, ms: number, options: { unref?: boolean } = {}): LongTimer {
  const at = Date.now() + Math.max(0, ms);
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const left = at - Date.now();
    timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(fn, Math.max(0, left));
    if (options.unref) unref(timer);
  };
  arm();
  return {
    clear() {
      clearTimeout(timer);
    },
  };
}
