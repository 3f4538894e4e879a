/** A workload made of client processes: start them, stop them, sum their counters. */
import type { Testbed } from '../testbed.js';
import { type ClientConfig, ClientProcess, type ClientStats } from './client-process.js';

export class ClientGroup {
  readonly clients: ClientProcess[];
  private totals: ClientStats = {};

  constructor(
    script: URL,
    prefix: string,
    count: number,
    bed: Testbed,
    base: Omit<ClientConfig, 'name' | 'endpoints'>,
  ) {
    this.clients = Array.from(
      { length: count },
      (_, i) => new ClientProcess(script, { ...base, name: `${prefix}${i}`, endpoints: bed.endpointsFor(i) }),
    );
  }

  async stop(): Promise<void> {
    const all = await Promise.all(this.clients.map((c) => c.stop()));
    for (const stats of all)
      for (const [k, v] of Object.entries(stats)) this.totals[k] = (this.totals[k] ?? 0) + v;
  }

  summary(): string {
    return Object.entries(this.totals)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
  }
}
