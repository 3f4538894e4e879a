/** The election workload: three candidate processes campaign and write guarded leader marks. */
import { checkElection } from '../checkers/election.js';
import type { Testbed } from '../testbed.js';
import type { Workload } from '../workload.js';
import { ClientGroup } from './processes.js';

export function startElectionWorkload(bed: Testbed, seed: number, unfenced: boolean): Workload {
  const group = new ClientGroup(new URL('./election-client.js', import.meta.url), 'candidate-', 3, bed, {
    seed,
    unfenced,
  });
  return {
    name: 'election',
    clients: group.clients,
    stop: () => group.stop(),
    close: async () => {},
    summary: () => group.summary(),
    check: (history) => [checkElection(history)],
  };
}
