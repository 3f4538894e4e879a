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
  'compact-behind-partition',
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
  /** Inside a critical section or a term: pausing it then is the case that matters most. */
  readonly busy: boolean;
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
  'compact-behind-partition': [500, 3000],
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
    /** Keys the fault may delete (a workload's data, never a lock or election key). */
    private readonly deletable: readonly string[],
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
        // A busy client if there is one (timing decides which are busy; the seed decides among them).
        const busy = clients.filter((c) => c.busy);
        const pool = busy.length > 0 ? busy : clients;
        const client = pool[f.target % pool.length]!;
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
      case 'compact-behind-partition':
        return this.compactBehindPartition(f.holdMs);
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

  /**
   * The sequence of etcd-io/etcd#18089: while every proxy drops traffic (the workloads' watches
   * are cut off, the recorder is not), delete a key at revision D and compact at D; then heal.
   * A watch that resumes exactly at D is served without the delete by etcd < 3.4.34 and must
   * be refused by the client instead; one that resumes before D must end compacted.
   */
  private async compactBehindPartition(holdMs: number): Promise<string> {
    const { proxies, admin } = this.bed;
    for (const p of proxies) p.blackhole(true);
    try {
      // Let writes already sent land: they are the last revisions the cut-off watches may have seen.
      await sleep(300);
      let key: string | undefined;
      for (const k of this.deletable) {
        const r = await admin.range(
          k.endsWith('/') ? { prefix: k, limit: 1, keysOnly: true } : { key: k, keysOnly: true },
        );
        key = r.kvs[0]?.key.toString();
        if (key) break;
      }
      if (!key) return 'skipped: nothing to delete';
      const deleted = (await admin.delete(key)).revision;
      if (!(await this.recorder.reach(deleted, 10_000)))
        return `skipped at ${deleted}: the recorder is behind`;
      await admin.compact(deleted);
      this.compactions.push(deleted);
      await sleep(holdMs);
      return `delete ${key} and compact at ${deleted}`;
    } finally {
      for (const p of proxies) p.blackhole(false);
    }
  }
}
