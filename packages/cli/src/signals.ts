import { constants } from 'node:os';
import { AbortError } from '@etcdkit/core';

const HANDLED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** The shell's exit code for a process ended by `signal`: 128 + its number. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

export interface TerminationOptions {
  /**
   * Called for every SIGINT/SIGTERM (e.g. to forward it to a child). Without it, a second
   * signal ends the process at once, in case a graceful shutdown hangs.
   */
  onSignal?: (signal: NodeJS.Signals) => void;
}

/**
 * SIGINT/SIGTERM as an AbortSignal: long-running commands stop gracefully (resign, unlock,
 * stop the server) instead of dying with the default handler.
 */
export class Termination implements Disposable {
  private readonly controller = new AbortController();
  private first: NodeJS.Signals | undefined;
  private readonly handler = (sig: NodeJS.Signals): void => {
    if (this.onSignal) this.onSignal(sig);
    else if (this.first !== undefined) process.exit(signalExitCode(sig));
    if (this.first === undefined) {
      this.first = sig;
      this.controller.abort(new AbortError(`interrupted: received ${sig}`));
    }
  };
  private readonly onSignal: ((signal: NodeJS.Signals) => void) | undefined;

  constructor(options: TerminationOptions = {}) {
    this.onSignal = options.onSignal;
    for (const s of HANDLED) process.on(s, this.handler);
  }

  /** Aborts on the first signal. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The first signal received, if any. */
  get received(): NodeJS.Signals | undefined {
    return this.first;
  }

  /** Resolves on the first signal. */
  wait(): Promise<void> {
    return untilAborted(this.signal);
  }

  [Symbol.dispose](): void {
    for (const s of HANDLED) process.off(s, this.handler);
  }
}

/** Resolves when `signal` aborts (at once if it already has). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
