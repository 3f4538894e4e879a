/**
 * lock: a mutex, uncontended (one lock + unlock cycle at a time on a session made once),
 * contended (8 workers × 25 locked increments of one counter) and the hand-over time against the
 * number of waiters, for etcdkit's Mutex, the etcd3 npm client's lock() and two floors on bare
 * grpc-js: the two transactions a Mutex sends, and exactly the RPCs of Go's concurrency.Mutex
 * (one txn, one delete); contended, the event-driven floor of floor-lock.ts.
 */
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd, type Session } from '@etcdkit/core';
import { Mutex } from '@etcdkit/lock';
import { Etcd3, EtcdLockFailedError } from 'etcd3';
import { ETCD3_GRPC_OPTIONS, etcd3Hosts } from '../clients.js';
import { FloorLock } from '../floor-lock.js';
import { GrpcFloor, prefixEnd, type RawKeyValue } from '../grpc-floor.js';
import {
  type BenchContext,
  type BenchRow,
  collectGarbage,
  cpuMicros,
  interleaveSerial,
  type Measurement,
  measurement,
  now,
  nsToMs,
  rotate,
  type Scenario,
  split,
  summarize,
  warmUp,
} from '../harness.js';
import {
  addCounters,
  counterDelta,
  describePerOp,
  emptyCounters,
  type ServerCounters,
  serverCounters,
} from '../server-metrics.js';

/** The floor that sends exactly what Go's concurrency.Mutex sends: one txn to lock, one delete to unlock. */
export const GO_FLOOR = 'grpc-js Go RPCs';
const SERIAL_IMPLS = ['etcdkit', 'etcd3', 'grpc-js', GO_FLOOR] as const;
type SerialImpl = (typeof SERIAL_IMPLS)[number];
const CONTENDED_IMPLS = ['etcdkit', 'etcd3', 'grpc-js'] as const;
type ContendedImpl = (typeof CONTENDED_IMPLS)[number];

const WORKERS = 8;
const INCREMENTS = 25;
/** Waiting lockers in the hand-over case; spread over at most this many clients. */
const WAITERS = [2, 10, 50, 200] as const;
const WAITER_CLIENTS = 4;
/** What a user-written retry loop around etcd3's lock() waits after a refusal. */
const RETRY_DELAY_MS = 10;
const SESSION_TTL = 60;

interface Counts {
  rounds: number;
  /** Uncontended cycles per implementation, over all rounds. */
  cycles: number;
  /** Contended: rounds of 8 × 25 increments per implementation. */
  contendedRounds: number;
  /** Hand-overs measured per number of waiters. */
  handovers: number;
}
const FULL: Counts = { rounds: 10, cycles: 2000, contendedRounds: 5, handovers: 200 };
const QUICK: Counts = { rounds: 3, cycles: 300, contendedRounds: 3, handovers: 40 };

// ---------------------------------------------------------------------------------------------
// The floor: the Mutex's two transactions on bare stubs

interface RawResponseOp {
  responseRange?: { kvs: RawKeyValue[] };
}

/**
 * A lock + unlock cycle of a free lock on bare grpc-js, the same requests, no state, checks or
 * conversions. Both lock with one txn (put `<name>/<lease hex>` if absent, else read it; in both
 * branches read the first-created key under the prefix, limit 1); they release differently:
 * - `etcdkit`: what `Mutex.lock()` + `unlock()` send: the owner read keys only, and a delete
 *   guarded by my key's create revision (a txn);
 * - `go`: exactly the RPCs of Go's `concurrency.Mutex`: the owner read with its value, and one
 *   plain DeleteRange of my key.
 */
class FloorMutex {
  private readonly key: Buffer;
  private readonly acquire: { compare: object[]; success: object[]; failure: object[] };

  constructor(
    private readonly floor: GrpcFloor,
    name: string,
    lease: string,
    private readonly like: 'etcdkit' | 'go',
  ) {
    const prefix = Buffer.from(`${name}/`);
    this.key = Buffer.from(`${name}/${BigInt(lease).toString(16)}`);
    const owner = {
      requestRange: {
        key: prefix,
        rangeEnd: prefixEnd(prefix),
        sortOrder: 'ASCEND',
        sortTarget: 'CREATE',
        limit: '1',
        ...(like === 'etcdkit' ? { keysOnly: true } : {}),
      },
    };
    this.acquire = {
      compare: [{ key: this.key, target: 'CREATE', result: 'EQUAL', createRevision: '0' }],
      success: [{ requestPut: { key: this.key, value: Buffer.alloc(0), lease } }, owner],
      failure: [{ requestRange: { key: this.key } }, owner],
    };
  }

  async cycle(): Promise<void> {
    const r = await this.floor.txn(this.acquire);
    const responses = r.responses as RawResponseOp[];
    const rev = r.succeeded ? r.header.revision : responses[0]?.responseRange?.kvs[0]?.createRevision;
    if (rev === undefined || responses[1]?.responseRange?.kvs[0]?.createRevision !== rev)
      throw new Error(
        `lock: the ${this.like} floor found its lock taken; is another process using the bench prefix?`,
      );
    if (this.like === 'go') {
      await this.floor.deleteRange({ key: this.key });
      return;
    }
    const released = await this.floor.txn({
      compare: [{ key: this.key, target: 'CREATE', result: 'EQUAL', createRevision: rev }],
      success: [{ requestDeleteRange: { key: this.key } }],
      failure: [],
    });
    if (!released.succeeded) throw new Error('lock: the floor lost its lock key');
  }
}

// ---------------------------------------------------------------------------------------------
// Uncontended

async function uncontended(ctx: BenchContext, counts: Counts): Promise<BenchRow[]> {
  const etcd = new Etcd({ endpoints: ctx.endpoints });
  const etcd3 = new Etcd3({ hosts: etcd3Hosts(ctx.endpoints), grpcOptions: ETCD3_GRPC_OPTIONS });
  const floor = new GrpcFloor(ctx.endpoints[0]!);
  let session: Session | undefined;
  let floorLease: string | undefined;
  try {
    session = await etcd.session({ ttl: SESSION_TTL });
    const mutex = new Mutex(session, `${ctx.prefix}etcdkit/uncontended`);
    // No keepalives on the floor: a lease long enough to outlast the case stands in for them.
    floorLease = (await floor.leaseGrant(600)).ID;
    const floorMutex = new FloorMutex(floor, `${ctx.prefix}grpc-js/uncontended`, floorLease, 'etcdkit');
    const goMutex = new FloorMutex(floor, `${ctx.prefix}grpc-js-go/uncontended`, floorLease, 'go');
    const etcd3Name = `${ctx.prefix}etcd3/uncontended`;
    const ops: Record<SerialImpl, () => Promise<unknown>> = {
      etcdkit: async () => {
        await mutex.lock();
        await mutex.unlock();
      },
      // etcd3's lock grants a lease per lock (and opens its keepalive stream) and revokes it on release.
      etcd3: () => etcd3.lock(etcd3Name).do(async () => {}),
      'grpc-js': () => floorMutex.cycle(),
      [GO_FLOOR]: () => goMutex.cycle(),
    };
    for (const impl of SERIAL_IMPLS) await warmUp(ops[impl], 100, 1);
    const perRound = split(counts.cycles, counts.rounds);
    const results = await interleaveSerial(SERIAL_IMPLS, ops, { perRound, signal: ctx.signal });
    return SERIAL_IMPLS.flatMap((impl) =>
      summarize(lock.name, 'lock+unlock serial', impl, results.get(impl)!, [
        'p50',
        'p99',
        'throughput',
        'cpu/op',
      ]).map((row) => (row.metric === 'throughput' ? { ...row, unit: 'cycles/s' } : row)),
    );
  } finally {
    await session?.close().catch((e: unknown) => ctx.log(`closing the session failed: ${e}`));
    if (floorLease !== undefined)
      await floor
        .leaseRevoke(floorLease)
        .catch((e: unknown) => ctx.log(`revoking the floor lease failed: ${e}`));
    await etcd.close();
    etcd3.close();
    floor.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Contended: 8 workers × 25 locked increments of one counter

/** One worker on a client of its own: one critical section = lock, read the counter, write it + 1, unlock. */
interface Worker {
  increment(counterKey: string): Promise<void>;
  close(): Promise<void>;
}

interface Contenders {
  workers: Worker[];
  /** Lock attempts that failed (etcd3: refused because held; etcdkit: lock() rejected). */
  failed: number;
  /** Read the counter (to check that no increment was lost). */
  read(counterKey: string): Promise<number>;
}

async function etcdkitWorkers(c: Contenders, ctx: BenchContext, name: string): Promise<void> {
  for (let w = 0; w < WORKERS; w++) {
    const etcd = new Etcd({ endpoints: ctx.endpoints });
    const worker: Worker = { close: () => etcd.close() /* revokes the session */, increment: async () => {} };
    c.workers.push(worker);
    const session = await etcd.session({ ttl: SESSION_TTL });
    const mutex = new Mutex(session, name);
    worker.increment = async (counterKey) => {
      for (;;) {
        try {
          await mutex.lock();
          break;
        } catch (e) {
          // Not expected: lock() waits for its turn. Counted, and retried as etcd3's are.
          if (ctx.signal.aborted) throw e;
          c.failed++;
          await sleep(RETRY_DELAY_MS);
        }
      }
      const kv = await etcd.get(counterKey);
      await etcd.put(counterKey, String(Number(kv?.value.toString() ?? 0) + 1));
      await mutex.unlock();
    };
    if (w === 0) c.read = async (k) => Number((await etcd.get(k))?.value.toString() ?? 0);
  }
}

/** etcd3's lock() throws when the lock is held, so each worker retries after 10 ms. */
function etcd3Workers(c: Contenders, ctx: BenchContext, name: string): void {
  for (let w = 0; w < WORKERS; w++) {
    const client = new Etcd3({ hosts: etcd3Hosts(ctx.endpoints), grpcOptions: ETCD3_GRPC_OPTIONS });
    if (w === 0) c.read = async (k) => (await client.get(k).number()) ?? 0;
    c.workers.push({
      close: async () => client.close(),
      increment: async (counterKey) => {
        for (;;) {
          try {
            await client.lock(name).do(async () => {
              const v = (await client.get(counterKey).number()) ?? 0;
              await client.put(counterKey).value(v + 1);
            });
            return;
          } catch (e) {
            if (!(e instanceof EtcdLockFailedError) || ctx.signal.aborted) throw e;
            c.failed++;
            await sleep(RETRY_DELAY_MS);
          }
        }
      },
    });
  }
}

/** The event-driven floor (floor-lock.ts): join txn, delete events, get, put, delete. */
async function floorWorkers(c: Contenders, ctx: BenchContext, name: string): Promise<void> {
  for (let w = 0; w < WORKERS; w++) {
    const floor = new GrpcFloor(ctx.endpoints[0]!);
    let lock: FloorLock | undefined;
    c.workers.push({
      close: async () => {
        lock?.close();
        floor.close();
      },
      increment: async () => {},
    });
    lock = await FloorLock.open(floor, name);
    const l = lock;
    const read = async (k: string) =>
      Number((await floor.range({ key: Buffer.from(k) })).kvs[0]?.value.toString() ?? 0);
    if (w === 0) c.read = read;
    c.workers[w]!.increment = async (counterKey) => {
      await l.lock();
      const v = await read(counterKey);
      await floor.put({ key: Buffer.from(counterKey), value: Buffer.from(String(v + 1)) });
      await l.unlock();
    };
  }
}

/** One round: every worker does its increments; latency per critical section (including the wait). */
async function incrementRound(c: Contenders, counterKey: string): Promise<Measurement> {
  const latencies: number[] = [];
  collectGarbage();
  const cpu0 = cpuMicros();
  const t0 = now();
  await Promise.all(
    c.workers.map(async (w) => {
      for (let i = 0; i < INCREMENTS; i++) {
        const s = now();
        await w.increment(counterKey);
        latencies.push(nsToMs(now() - s));
      }
    }),
  );
  const elapsedMs = nsToMs(now() - t0);
  const cpu = cpuMicros() - cpu0;
  return measurement(latencies, elapsedMs, cpu);
}

export const CONTENDED_CASE = `increment ${WORKERS}×${INCREMENTS}`;

async function contended(ctx: BenchContext, counts: Counts): Promise<BenchRow[]> {
  const none = async () => 0;
  const all: Record<ContendedImpl, Contenders> = {
    etcdkit: { workers: [], failed: 0, read: none },
    etcd3: { workers: [], failed: 0, read: none },
    'grpc-js': { workers: [], failed: 0, read: none },
  };
  const endpoint = ctx.endpoints[0]!;
  try {
    const name = (impl: ContendedImpl) => `${ctx.prefix}${impl}/contended`;
    await etcdkitWorkers(all.etcdkit, ctx, name('etcdkit'));
    etcd3Workers(all.etcd3, ctx, name('etcd3'));
    await floorWorkers(all['grpc-js'], ctx, name('grpc-js'));
    const failed = new Map<ContendedImpl, number>(CONTENDED_IMPLS.map((i) => [i, 0]));
    const rpcs = new Map<ContendedImpl, ServerCounters>(CONTENDED_IMPLS.map((i) => [i, emptyCounters()]));
    const results = new Map<ContendedImpl, Measurement[]>(CONTENDED_IMPLS.map((i) => [i, []]));
    // Round 0 warms up (connections, sessions' first keys, optimisation) and is not counted.
    for (let r = 0; r <= counts.contendedRounds; r++) {
      for (const impl of rotate(CONTENDED_IMPLS, r)) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        const c = all[impl];
        const counterKey = `${ctx.prefix}${impl}/counter-${r}`;
        c.failed = 0;
        const before = await serverCounters(endpoint);
        const m = await incrementRound(c, counterKey);
        const after = await serverCounters(endpoint);
        const total = await c.read(counterKey);
        if (total !== WORKERS * INCREMENTS)
          throw new Error(
            `lock: ${impl} counted ${total} instead of ${WORKERS * INCREMENTS}: the lock let two in`,
          );
        if (r === 0) continue;
        results.get(impl)!.push(m);
        failed.set(impl, failed.get(impl)! + c.failed);
        addCounters(rpcs.get(impl)!, counterDelta(before, after));
      }
    }
    return CONTENDED_IMPLS.flatMap((impl): BenchRow[] => {
      const rounds = results.get(impl)!;
      const sections = rounds.reduce((n, m) => n + m.ops, 0);
      const counters = rpcs.get(impl)!;
      const unary = [...counters.unary.values()].reduce((a, b) => a + b, 0);
      const base = { scenario: lock.name, case: CONTENDED_CASE, impl, samples: sections };
      return [
        ...summarize(lock.name, CONTENDED_CASE, impl, rounds, ['throughput', 'p50', 'p99', 'cpu/op']).map(
          (row) => (row.metric === 'throughput' ? { ...row, unit: 'cs/s' } : row),
        ),
        {
          ...base,
          metric: 'RPCs/cs',
          value: unary / sections,
          unit: '',
          better: 'lower',
          note: `unary RPCs per critical section, counted by etcd (/metrics): ${describePerOp(counters, sections)}`,
        },
        {
          ...base,
          metric: 'failed attempts',
          value: failed.get(impl)!,
          unit: '',
          better: 'lower',
          note: `lock attempts refused or failed over ${sections} critical sections`,
        },
      ];
    });
  } finally {
    await Promise.allSettled(CONTENDED_IMPLS.flatMap((impl) => all[impl].workers.map((w) => w.close())));
  }
}

// ---------------------------------------------------------------------------------------------
// Hand-over against the number of waiters

/**
 * `n` lockers on `n` sessions (spread over up to 4 clients) loop lock → unlock, so that n − 1
 * wait behind the holder at every hand-over. The clock runs from the holder's unlock() call
 * until the next one's lock() resolves. Events: watch events etcd sent per hand-over.
 */
async function handOverByWaiters(ctx: BenchContext, counts: Counts): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const n of WAITERS) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const clients = Array.from(
      { length: Math.min(n, WAITER_CLIENTS) },
      () => new Etcd({ endpoints: ctx.endpoints }),
    );
    const stop = new AbortController();
    // Every waiting lock() listens to it.
    setMaxListeners(n + 10, stop.signal);
    try {
      const name = `${ctx.prefix}etcdkit/waiters-${n}`;
      const sessions = await Promise.all(
        Array.from({ length: n }, (_, i) => clients[i % clients.length]!.session({ ttl: SESSION_TTL })),
      );
      const warm = 10;
      const wanted = warm + counts.handovers;
      const latencies: number[] = [];
      let released: bigint | undefined;
      let handovers = 0;
      let before: ServerCounters | undefined;
      let started: Promise<ServerCounters> | undefined;
      let ended: Promise<ServerCounters> | undefined;
      const loops = sessions.map(async (session) => {
        const m = new Mutex(session, name);
        while (!stop.signal.aborted) {
          try {
            await m.lock({ signal: stop.signal });
          } catch (e) {
            if (stop.signal.aborted) return;
            throw e;
          }
          const at = now();
          if (released !== undefined) {
            handovers++;
            if (handovers > warm) latencies.push(nsToMs(at - released));
            if (handovers === warm) started = serverCounters(ctx.endpoints[0]!);
          }
          if (handovers >= wanted) {
            // Counted before the others are stopped: their leaving is no part of a hand-over.
            ended = serverCounters(ctx.endpoints[0]!);
            await ended;
            stop.abort();
            await m.unlock();
            return;
          }
          released = now();
          await m.unlock();
        }
      });
      await Promise.all(loops);
      before = await started;
      const after = await (ended ?? serverCounters(ctx.endpoints[0]!));
      latencies.sort((a, b) => a - b);
      const m: Measurement = {
        ops: latencies.length,
        elapsedMs: 0,
        latenciesMs: latencies,
        cpuMicros: 0,
        opsPerSec: 0,
        cpuMicrosPerOp: 0,
      };
      const caseName = `hand-over, ${n} waiting`;
      rows.push(...summarize(lock.name, caseName, 'etcdkit', [m], ['p50', 'p99']));
      if (before) {
        const d = counterDelta(before, after);
        const rpcs = [...d.unary.values()].reduce((a, b) => a + b, 0);
        rows.push({
          scenario: lock.name,
          case: caseName,
          impl: 'etcdkit',
          metric: 'RPCs/hand-over',
          value: rpcs / latencies.length,
          unit: '',
          better: 'lower',
          samples: latencies.length,
          note: `counted by etcd (/metrics); a hand-over is the release and the re-join of the one that released: ${describePerOp(d, latencies.length)}`,
        });
      }
    } finally {
      stop.abort();
      await Promise.allSettled(clients.map((c) => c.close()));
    }
  }
  return rows;
}

export const lock: Scenario = {
  name: 'lock',
  description: `a mutex: lock+unlock cycles one at a time on one session; ${WORKERS} workers (${WORKERS} clients) × ${INCREMENTS} locked increments of one counter; hand-over time with ${WAITERS.join(', ')} waiting`,
  targets: [
    {
      case: 'lock+unlock serial',
      metric: 'p50',
      against: 'grpc-js',
      tolerance: 0.2,
      label: 'uncontended lock+unlock p50 within 1.2× of bare grpc-js (same two transactions)',
    },
    {
      case: 'lock+unlock serial',
      metric: 'throughput',
      against: 'etcd3',
      tolerance: -0.5,
      label: "uncontended cycles/s at least 1.5× etcd3's lock().do()",
    },
    {
      case: 'lock+unlock serial',
      metric: 'p50',
      against: GO_FLOOR,
      tolerance: 0.1,
      label: "uncontended lock+unlock p50 within 1.1× of Go's RPCs (one txn, one delete) on bare grpc-js",
    },
    {
      case: CONTENDED_CASE,
      metric: 'throughput',
      against: 'etcd3',
      tolerance: -1.5,
      label: `${WORKERS} × ${INCREMENTS} contended increments: critical sections/s at least 2.5× etcd3 with a retry loop (and 0 failed attempts)`,
    },
  ],

  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const counts = ctx.quick ? QUICK : FULL;
    const admin = new GrpcFloor(ctx.endpoints[0]!);
    try {
      ctx.log(`lock+unlock serial: ${counts.cycles} cycles per implementation in ${counts.rounds} rounds`);
      const rows = await uncontended(ctx, counts);
      ctx.log(`${CONTENDED_CASE}: ${counts.contendedRounds} rounds per implementation (and one to warm up)`);
      rows.push(...(await contended(ctx, counts)));
      ctx.log(`hand-over with ${WAITERS.join(', ')} waiting: ${counts.handovers} hand-overs each`);
      rows.push(...(await handOverByWaiters(ctx, counts)));
      return rows;
    } finally {
      await admin
        .deletePrefix(ctx.prefix)
        .catch((e: unknown) => ctx.log(`cleanup of ${ctx.prefix} failed: ${e}`));
      admin.close();
    }
  },
};
