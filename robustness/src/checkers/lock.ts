/** Lock: no two owners' guarded writes interleave, and fencing tokens never go back. */
import type { Recorder } from '../history.js';
import { LOCK_COUNTER, LOCK_NAME } from '../keys.js';
import type { CheckResult } from '../workload.js';
import { checkGuarded } from './guarded.js';

export function checkLock(history: Recorder): CheckResult {
  return checkGuarded(history, {
    checker: 'lock',
    key: LOCK_COUNTER,
    ownerPrefix: `${LOCK_NAME}/`,
    section: 'critical section',
  });
}
