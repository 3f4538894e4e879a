import type { PausableClient } from './faults.js';
import type { Recorder } from './history.js';

/** What a checker found. */
export interface CheckResult {
  checker: string;
  /** Operations (events, writes, snapshots) compared against the history. */
  operations: number;
  failures: string[];
  notes: string[];
}

export interface RunFacts {
  /** Revisions the faults compacted at, in order. */
  compactions: readonly bigint[];
}

export interface Workload {
  readonly name: string;
  /** Client processes faults may pause. */
  readonly clients: readonly PausableClient[];
  /** Stop generating load (faults are over); afterwards the workload is quiet. */
  stop(): Promise<void>;
  /** Release everything (after the checks read what they need). */
  close(): Promise<void>;
  /** What the clients did, one line. */
  summary(): string;
  check(history: Recorder, facts: RunFacts): CheckResult[];
}

/** Failures are capped per checker: the first few say what broke, the count says how often. */
export function collector(checker: string): CheckResult & { fail(message: string): void } {
  const result = { checker, operations: 0, failures: [] as string[], notes: [] as string[] };
  let dropped = 0;
  return Object.assign(result, {
    fail(message: string) {
      if (result.failures.length < 20) result.failures.push(message);
      else if (++dropped === 1) result.notes.push('more failures were left out');
    },
  });
}
