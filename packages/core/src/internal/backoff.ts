import { sleep } from './signals.js';

/**
 * The bounds of a backoff: delays grow exponentially from `baseMs`, each drawn at random below
 * its bound (full jitter), never above `capMs`.
 *
 * @inline
 */
export interface BackoffOptions {
  /** First delay's upper bound, ms. Default 50. */
  baseMs?: number;
  /** No delay is longer than this, ms. Default 2000. */
  capMs?: number;
}

/**
 * The one backoff policy of etcdkit: exponential with full jitter, capped. Each delay is drawn
 * uniformly from [0, min(cap, base * 2^attempt)), so a fleet of clients that lost the same etcd
 * at the same moment does not come back to it in lockstep.
 */
export class Backoff {
  readonly baseMs: number;
  readonly capMs: number;
  private attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 50;
    this.capMs = Math.max(options.capMs ?? 2000, this.baseMs);
  }

  /** How many delays were drawn since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The next delay, ms. */
  next(): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.floor(Math.random() * ceiling);
  }

  /** Sleep the next delay; false when `signal` aborted the sleep. */
  wait(signal?: AbortSignal): Promise<boolean> {
    return sleep(this.next(), signal);
  }

  /** Back to the first delay, after a success. */
  reset(): void {
    this.attempt = 0;
  }
}

export interface RetryOptions extends BackoffOptions {
  /** Whether `err` may be retried. */
  retryable: (err: unknown) => boolean;
  /** Attempts in all, the first included. Default: unbounded (until `signal` aborts). */
  maxAttempts?: number;
  signal?: AbortSignal;
  /** Told of each failure that will be retried, with the delay before the next attempt. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Run `fn` until it succeeds, a failure is not retryable, attempts run out or `signal` aborts. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const b = new Backoff(options);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!options.retryable(err) || attempt >= (options.maxAttempts ?? Number.POSITIVE_INFINITY)) throw err;
      if (options.signal?.aborted) throw err;
      const ms = b.next();
      options.onRetry?.(err, attempt, ms);
      if (!(await sleep(ms, options.signal))) throw err;
    }
  }
}
