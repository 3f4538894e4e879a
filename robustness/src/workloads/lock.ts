/** The lock workload: three processes take one Mutex in turn and write a guarded counter. */
import { checkLock } from '../checkers/lock.js';
import type { Testbed } from '../testbed.js';
import type { Workload } from '../workload.js';
import { ClientGroup } from './processes.js';

export function startLockWorkload(bed: Testbed, seed: number, unfenced: boolean): Workload {
  const group = new ClientGroup(new URL('./lock-client.js', import.meta.url), 'lock-', 3, bed, {
    seed,
    unfenced,
  });
  return {
    name: 'lock',
    clients: group.clients,
    stop: () => group.stop(),
    close: async () => {},
    summary: () => group.summary(),
    check: (history) => [checkLock(history)],
  };
}
