/** Election: one leader at a time, i.e. the guarded leader marks of two terms never interleave. */
import type { Recorder } from '../history.js';
import { ELECTION_MARK, ELECTION_NAME } from '../keys.js';
import type { CheckResult } from '../workload.js';
import { checkGuarded } from './guarded.js';

export function checkElection(history: Recorder): CheckResult {
  return checkGuarded(history, {
    checker: 'election',
    key: ELECTION_MARK,
    ownerPrefix: `${ELECTION_NAME}/`,
    section: 'term',
  });
}
