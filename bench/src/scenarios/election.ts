/**
 * election: how fast leadership passes to the waiting candidate, after the leader resigns and
 * after the leader's process is cut off, for etcdkit's Election and the etcd3 npm client's
 * election. The hand-over has a floor on bare grpc-js (floor-lock.ts): the leader deletes its key,
 * the waiting candidate's watch (open, deletes only) gets the DELETE event, and that is all.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd, type Session } from '@etcdkit/core';
import { Election } from '@etcdkit/election';
import { startTcpProxy, type TcpProxy } from '@etcdkit/testkit';
import { type Campaign, Etcd3 } from 'etcd3';
import { ETCD3_GRPC_OPTIONS, etcd3Hosts } from '../clients.js';
import { FloorLock } from '../floor-lock.js';
import { GrpcFloor, hostPort } from '../grpc-floor.js';
import {
  type BenchContext,
  type BenchRow,
  collectGarbage,
  cpuMicros,
  interleave,
  type Measurement,
  measurement,
  median,
  now,
  nsToMs,
  percentile,
  rotate,
  type Scenario,
  split,
  summarize,
} from '../harness.js';

const IMPLS = ['etcdkit', 'etcd3'] as const;
type Impl = (typeof IMPLS)[number];
/** The hand-over also has the floor. */
const HANDOVER_IMPLS = ['etcdkit', 'etcd3', 'grpc-js'] as const;
type HandOverImpl = (typeof HANDOVER_IMPLS)[number];

/** Session (etcd3: lease) TTL of the hand-over candidates, seconds. */
const HANDOVER_TTL = 10;
/** Lease TTL of the candidate that crashes, seconds. */
const FAILOVER_TTL = 2;
/** Time for the waiting candidate to settle into its watch before the leader goes. */
const SETTLE_MS = 150;
/** The early case: the leader resigns this soon after the waiter's campaign() call. */
const EARLY_MS = 30;

interface Counts {
  rounds: number;
  /** Hand-overs per implementation, over all rounds. */
  handovers: number;
  /** Crashes per implementation. */
  crashes: number;
}
// Hand-overs in rounds of a few, the implementations taking turns round by round.
const FULL: Counts = { rounds: 10, handovers: 40, crashes: 5 };
const QUICK: Counts = { rounds: 4, handovers: 12, crashes: 2 };

/** One candidate of one implementation: campaign() resolves once elected; resign() leaves. */
interface Candidate {
  campaign(): Promise<void>;
  resign(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Candidates

/** etcdkit: one Election on one session, campaigning again after each resign. */
function etcdkitCandidate(session: Session, name: string, value: string): Candidate {
  const e = new Election(session, name);
  return { campaign: () => e.campaign(value), resign: () => e.resign() };
}

/**
 * etcd3: a Campaign is single-use (resign() revokes its lease), so each campaign is a new one
 * with a new lease: that is its design. Its 'elected' event resolves campaign().
 */
function etcd3Candidate(
  client: Etcd3,
  namespace: string,
  name: string,
  ttl: number,
  value: string,
): Candidate {
  const election = client.namespace(namespace).election(name, ttl);
  let current: Campaign | undefined;
  return {
    campaign: () =>
      new Promise<void>((resolve, reject) => {
        const c = election.campaign(value);
        current = c;
        c.once('elected', () => resolve());
        c.on('error', reject);
      }),
    resign: async () => {
      await current?.resign();
    },
  };
}

/** The floor: campaign = join and wait for the DELETE events of the keys ahead; resign = delete my key. */
function floorCandidate(lock: FloorLock): Candidate {
  return { campaign: () => lock.lock(), resign: () => lock.unlock() };
}

// ---------------------------------------------------------------------------------------------
// Hand-over after resign

/**
 * Two candidates take turns: the leader resigns; the clock runs from the resign call until the
 * waiting candidate's campaign resolves. The one that resigned then campaigns again, behind it.
 * The resign comes a set time after the waiter's campaign() call: long enough for it to be
 * watching (a standby that has been waiting a while), or soon after it joined.
 */
class HandOver {
  private leader: Candidate;
  private waiter: Candidate;
  private waiting: Promise<void>;
  /** When the waiter's campaign() was called (ms, performance.now()). */
  private waitingSince: number;

  private constructor(leader: Candidate, waiter: Candidate) {
    this.leader = leader;
    this.waiter = waiter;
    this.waitingSince = performance.now();
    this.waiting = quiet(waiter.campaign());
  }

  static async start(a: Candidate, b: Candidate): Promise<HandOver> {
    await a.campaign();
    return new HandOver(a, b);
  }

  /** `count` hand-overs, each `settleMs` after the waiter's campaign() was called. */
  async round(count: number, settleMs: number): Promise<Measurement> {
    const latencies: number[] = [];
    collectGarbage();
    const cpu0 = cpuMicros();
    const t0 = now();
    for (let i = 0; i < count; i++) {
      await sleep(Math.max(0, this.waitingSince + settleMs - performance.now()));
      const s = now();
      const resigned = this.leader.resign();
      await this.waiting;
      latencies.push(nsToMs(now() - s));
      await resigned;
      const next = this.leader;
      this.leader = this.waiter;
      this.waiter = next;
      this.waitingSince = performance.now();
      this.waiting = quiet(next.campaign());
    }
    const elapsedMs = nsToMs(now() - t0);
    const cpu = cpuMicros() - cpu0;
    return measurement(latencies, elapsedMs, cpu, count);
  }

  /** Both leave: the waiter's campaign is ended by its resign (etcdkit rejects it; etcd3 leaves it pending). */
  async stop(): Promise<void> {
    await Promise.allSettled([this.leader.resign(), this.waiter.resign()]);
  }
}

/** A campaign promise awaited later: a rejection before that must not count as unhandled. */
function quiet(p: Promise<void>): Promise<void> {
  p.catch(() => {});
  return p;
}

async function handOver(ctx: BenchContext, counts: Counts): Promise<BenchRow[]> {
  const kitA = new Etcd({ endpoints: ctx.endpoints });
  const kitB = new Etcd({ endpoints: ctx.endpoints });
  const e3A = new Etcd3({ hosts: etcd3Hosts(ctx.endpoints), grpcOptions: ETCD3_GRPC_OPTIONS });
  const e3B = new Etcd3({ hosts: etcd3Hosts(ctx.endpoints), grpcOptions: ETCD3_GRPC_OPTIONS });
  const floorA = new GrpcFloor(ctx.endpoints[0]!);
  const floorB = new GrpcFloor(ctx.endpoints[0]!);
  const floorLocks: FloorLock[] = [];
  const runs: Partial<Record<HandOverImpl, HandOver>> = {};
  try {
    const name = `${ctx.prefix}etcdkit/handover`;
    const [sA, sB] = await Promise.all([
      kitA.session({ ttl: HANDOVER_TTL }),
      kitB.session({ ttl: HANDOVER_TTL }),
    ]);
    runs.etcdkit = await HandOver.start(etcdkitCandidate(sA, name, 'a'), etcdkitCandidate(sB, name, 'b'));
    const ns = `${ctx.prefix}etcd3/`;
    runs.etcd3 = await HandOver.start(
      etcd3Candidate(e3A, ns, 'handover', HANDOVER_TTL, 'a'),
      etcd3Candidate(e3B, ns, 'handover', HANDOVER_TTL, 'b'),
    );
    const floorName = `${ctx.prefix}grpc-js/handover`;
    floorLocks.push(await FloorLock.open(floorA, floorName), await FloorLock.open(floorB, floorName));
    runs['grpc-js'] = await HandOver.start(floorCandidate(floorLocks[0]!), floorCandidate(floorLocks[1]!));
    // Warm-up: one hand-over each way.
    for (const impl of HANDOVER_IMPLS) await runs[impl]!.round(2, SETTLE_MS);
    const perRound = split(counts.handovers, counts.rounds);
    const rows: BenchRow[] = [];
    const cases = [
      { name: 'hand-over after resign', settleMs: SETTLE_MS },
      { name: `hand-over ${EARLY_MS} ms after the waiter joined`, settleMs: EARLY_MS },
    ];
    for (const c of cases) {
      const results = await interleave(HANDOVER_IMPLS, counts.rounds, (impl, r) => {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        return runs[impl]!.round(perRound[r]!, c.settleMs);
      });
      for (const impl of HANDOVER_IMPLS)
        rows.push(...summarize(election.name, c.name, impl, results.get(impl)!, ['p50', 'p99']));
    }
    return rows;
  } finally {
    await Promise.allSettled(HANDOVER_IMPLS.map((impl) => runs[impl]?.stop()));
    for (const l of floorLocks) l.close();
    floorA.close();
    floorB.close();
    // Closing the etcdkit clients revokes their sessions.
    await Promise.allSettled([kitA.close(), kitB.close()]);
    e3A.close();
    e3B.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Failover after a crash

/**
 * The leader's client talks to etcd through a TCP proxy; the "crash" blackholes the proxy, so
 * its keepalives stop reaching etcd and nothing is revoked, as when a process dies or hangs.
 * The clock runs from then until the other candidate (on its own, direct client) is elected:
 * that is etcd expiring the lease (at most the TTL after the last keepalive) plus the time the
 * candidate needs to notice. The crash is placed at a different point of the keepalive cycle in
 * each round (the same points for both implementations).
 */
async function crashOnce(
  ctx: BenchContext,
  impl: Impl,
  survivor: { kit: Etcd; e3: Etcd3 },
  phase: number,
): Promise<number> {
  let proxy: TcpProxy | undefined;
  let kit: Etcd | undefined;
  let e3: Etcd3 | undefined;
  let elected: Candidate | undefined;
  let survivorSession: Session | undefined;
  try {
    proxy = await startTcpProxy(hostPort(ctx.endpoints[0]!));
    let leader: Candidate;
    let other: Candidate;
    if (impl === 'etcdkit') {
      kit = new Etcd({ endpoints: [proxy.endpoint] });
      const name = `${ctx.prefix}etcdkit/failover`;
      leader = etcdkitCandidate(await kit.session({ ttl: FAILOVER_TTL }), name, 'crashing');
      survivorSession = await survivor.kit.session({ ttl: HANDOVER_TTL });
      other = etcdkitCandidate(survivorSession, name, 'survivor');
    } else {
      e3 = new Etcd3({ hosts: etcd3Hosts([proxy.endpoint]), grpcOptions: ETCD3_GRPC_OPTIONS });
      const ns = `${ctx.prefix}etcd3/`;
      leader = etcd3Candidate(e3, ns, 'failover', FAILOVER_TTL, 'crashing');
      other = etcd3Candidate(survivor.e3, ns, 'failover', HANDOVER_TTL, 'survivor');
    }
    // The lease was granted (and first kept alive) just before: place the crash `phase` of the
    // way into the keepalive interval (ttl / 3), after the waiter settled.
    const started = Date.now();
    await leader.campaign();
    const waiting = quiet(other.campaign());
    elected = other;
    const crashAt = started + SETTLE_MS + (phase * FAILOVER_TTL * 1000) / 3;
    await sleep(Math.max(0, crashAt - Date.now()));
    const t0 = now();
    proxy.blackhole(true);
    await waiting;
    return nsToMs(now() - t0);
  } finally {
    // The crashed client is abandoned: its connection is destroyed, nothing is revoked (its
    // lease has expired by now anyway).
    await proxy?.close();
    await elected?.resign().catch((e: unknown) => ctx.log(`resign after failover failed: ${e}`));
    await survivorSession?.close().catch((e: unknown) => ctx.log(`closing a session failed: ${e}`));
    await kit?.close().catch(() => {});
    e3?.close();
  }
}

async function failover(ctx: BenchContext, counts: Counts): Promise<BenchRow[]> {
  const survivor = {
    kit: new Etcd({ endpoints: ctx.endpoints }),
    e3: new Etcd3({ hosts: etcd3Hosts(ctx.endpoints), grpcOptions: ETCD3_GRPC_OPTIONS }),
  };
  try {
    const samples = new Map<Impl, number[]>(IMPLS.map((i) => [i, []]));
    for (let r = 0; r < counts.crashes; r++) {
      for (const impl of rotate(IMPLS, r)) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        samples.get(impl)!.push(await crashOnce(ctx, impl, survivor, (r + 0.5) / counts.crashes));
      }
    }
    const caseName = `failover after crash (ttl ${FAILOVER_TTL} s)`;
    return IMPLS.flatMap((impl): BenchRow[] => {
      const s = samples.get(impl)!;
      const base = { scenario: election.name, case: caseName, impl, samples: s.length, unit: 'ms' };
      return [
        { ...base, metric: 'median', value: median(s), better: 'lower' },
        { ...base, metric: 'max', value: percentile(s, 100), better: 'lower' },
      ];
    });
  } finally {
    await survivor.kit.close();
    survivor.e3.close();
  }
}

export const election: Scenario = {
  name: 'election',
  description: `leader election between two clients: hand-over after resign (ttl ${HANDOVER_TTL} s), and failover when the leader's connection goes dead (ttl ${FAILOVER_TTL} s)`,
  targets: [
    {
      case: 'hand-over after resign',
      metric: 'p50',
      against: 'grpc-js',
      tolerance: 0.25,
      label: 'hand-over p50 within 1.25× of the delete → DELETE event floor (bare grpc-js, a second client)',
    },
    {
      case: 'hand-over after resign',
      metric: 'p50',
      against: 'etcd3',
      tolerance: -0.8,
      label: 'hand-over p50 at least 5× faster than etcd3',
    },
  ],

  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const counts = ctx.quick ? QUICK : FULL;
    const admin = new GrpcFloor(ctx.endpoints[0]!);
    try {
      ctx.log(
        `hand-over after resign: ${counts.handovers} per implementation and case in ${counts.rounds} round(s)`,
      );
      const rows = await handOver(ctx, counts);
      ctx.log(`failover after crash: ${counts.crashes} per implementation, ttl ${FAILOVER_TTL} s`);
      rows.push(...(await failover(ctx, counts)));
      return rows;
    } finally {
      await admin
        .deletePrefix(ctx.prefix)
        .catch((e: unknown) => ctx.log(`cleanup of ${ctx.prefix} failed: ${e}`));
      admin.close();
    }
  },
};
