/**
 * Faults, and the schedule they come in. The schedule (which fault, on which target, held how
 * long, after what pause) is derived from the seed alone; faults run one at a time and each is
 * healed before the next, so the cluster keeps a quorum except while a fault is held.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Recorder } from './history.js';
import { Prng } from './prng.js';
import type { Testbed } from './testbed.js';

export const FAULT_KINDS = [
  'kill-member',
  'kill-leader',
  'pause-member',
  'pause-client',
  'blackhole-proxy',
  'cut-proxy',
  'cut-all-proxies',
  'retarget-proxy',
  'compact',
  'defragment',
  'move-leader',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface PlannedFault {
  n: number;
  kind: FaultKind;
  /** Which member, proxy or client (modulo their number). */
  target: number;
  /** How long the fault is held before it is healed (0 for instant ones). */
  holdMs: number;
  /** Pause before the fault. */
  gapMs: number;
}

/** Client processes that a fault can stop with SIGSTOP (past their session TTL) and continue. */
export interface PausableClient {
  readonly name: string;
  pause(): void;
  resume(): void;
}

export interface FaultRecord {
  n: number;
  kind: FaultKind;
  target: string;
  /** Milliseconds since the start of the run. */
  atMs: number;
  tookMs: number;
  outcome: string;
}

const HOLD_MS: Record<FaultKind, [number, number]> = {
  'kill-member': [300, 3000],
  'kill-leader': [300, 3000],
  'pause-member': [500, 4000],
  // Past the clients' 2 s session TTL, so their leases expire while they are stopped.
  'pause-client': [3000, 5000],
  'blackhole-proxy': [500, 4000],
  'cut-proxy': [0, 0],
  'cut-all-proxies': [0, 0],
  'retarget-proxy': [500, 3000],
  compact: [0, 0],
  defragment: [0, 0],
  'move-leader': [0, 0],
};

/** The fault schedule of a seed, for the given kinds (in FAULT_KINDS order). */
export function* faultSchedule(seed: number, kinds: readonly FaultKind[]): Generator<PlannedFault> {
  const rng = new Prng(seed).fork('faults');
  const allowed = FAULT_KINDS.filter((k) => kinds.includes(k));
  for (let n = 1; ; n++) {
    const kind = rng.pick(allowed);
    const [min, max] = HOLD_MS[kind];
    yield { n, kind, target: rng.int(1000), holdMs: rng.between(min, max), gapMs: rng.between(300, 2500) };
  }
}

export class FaultInjector {
  readonly log: FaultRecord[] = [];
  /** Revisions compacted at, in order. */
  readonly compactions: bigint[] = [];

  constructor(
    private readonly bed: Testbed,
    private readonly recorder: Recorder,
    private readonly clients: () => readonly PausableClient[],
    private readonly prefix: string,
    private readonly t0: number,
    private readonly print: (line: string) => void,
  ) {}

  /** Inject faults from the schedule until `deadline` (epoch ms); the last one is healed before it returns. */
  async run(schedule: Iterator<PlannedFault>, deadline: number): Promise<void> {
    for (;;) {
      const f = schedule.next().value as PlannedFault;
      await sleep(f.gapMs);
      if (Date.now() >= deadline) return;
      await this.inject(f);
    }
  }

  private async inject(f: PlannedFault): Promise<void> {
    const started = Date.now();
    let target = '?';
    let outcome = 'ok';
    try {
      await this.restartStopped();
      target = await this.apply(f, (t) => (target = t));
    } catch (err) {
      outcome = `failed: ${(err as Error).name}: ${(err as Error).message}`;
    }
    const record: FaultRecord = {
      n: f.n,
      kind: f.kind,
      target,
      atMs: started - this.t0,
      tookMs: Date.now() - started,
      outcome,
    };
    this.log.push(record);
    this.print(
      `[+${(record.atMs / 1000).toFixed(1)}s] fault #${f.n} ${f.kind} ${target}` +
        `${f.holdMs ? ` held ${f.holdMs} ms` : ''}: ${outcome}`,
    );
  }

  /** A member whose restart failed earlier gets another one, so faults never add up to a lost quorum. */
  private async restartStopped(): Promise<void> {
    for (const m of this.bed.cluster.members) if (!m.running) await m.restart();
  }

  private async apply(f: PlannedFault, name: (target: string) => void): Promise<string> {
    const { cluster, proxies, admin } = this.bed;
    const member = cluster.members[f.target % cluster.members.length]!;
    const proxyIndex = f.target % proxies.length;
    const proxy = proxies[proxyIndex]!;
    switch (f.kind) {
      case 'kill-member':
      case 'kill-leader': {
        const victim = f.kind === 'kill-leader' ? ((await cluster.leader()) ?? member) : member;
        name(victim.name);
        await victim.kill();
        try {
          await sleep(f.holdMs);
        } finally {
          await victim.restart();
        }
        await cluster.waitForLeader();
        return victim.name;
      }
      case 'pause-member': {
        name(member.name);
        member.pause();
        try {
          await sleep(f.holdMs);
        } finally {
          member.resume();
        }
        await cluster.waitForLeader();
        return member.name;
      }
      case 'pause-client': {
        const clients = this.clients();
        if (clients.length === 0) return 'none (no client processes)';
        const client = clients[f.target % clients.length]!;
        name(client.name);
        client.pause();
        try {
          await sleep(f.holdMs);
        } finally {
          client.resume();
        }
        return client.name;
      }
      case 'blackhole-proxy': {
        name(`proxy-${proxyIndex}`);
        proxy.blackhole(true);
        try {
          await sleep(f.holdMs);
        } finally {
          proxy.blackhole(false);
        }
        return `proxy-${proxyIndex}`;
      }
      case 'cut-proxy':
        proxy.cut();
        return `proxy-${proxyIndex}`;
      case 'cut-all-proxies':
        for (const p of proxies) p.cut();
        return 'all proxies';
      case 'retarget-proxy': {
        const original = proxy.target;
        const other = cluster.members[(proxyIndex + 1) % cluster.members.length]!;
        name(`proxy-${proxyIndex} -> ${other.name}`);
        proxy.setTarget(other.endpoint);
        proxy.cut();
        try {
          await sleep(f.holdMs);
        } finally {
          proxy.setTarget(original);
          proxy.cut();
        }
        return `proxy-${proxyIndex} -> ${other.name}`;
      }
      case 'compact': {
        // To the current revision, but never past what the recorder has received.
        const current = (await admin.range({ prefix: this.prefix, countOnly: true })).revision;
        if (!(await this.recorder.reach(current, 10_000)))
          return `skipped at ${current}: the recorder is behind`;
        await admin.compact(current);
        this.compactions.push(current);
        return `revision ${current}`;
      }
      case 'defragment':
        name(member.name);
        await admin.maintenance.defragment({ endpoint: member.endpoint });
        return member.name;
      case 'move-leader': {
        const statuses = await Promise.all(
          cluster.members.map((m) => admin.maintenance.status({ endpoint: m.endpoint })),
        );
        const leader = statuses.findIndex((s) => s.isLeader);
        const to =
          f.target % statuses.length === leader ? (leader + 1) % statuses.length : f.target % statuses.length;
        name(`to ${cluster.members[to]!.name}`);
        await admin.maintenance.moveLeader(statuses[to]!.memberId);
        return `to ${cluster.members[to]!.name}`;
      }
    }
  }
}
