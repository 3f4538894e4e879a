/**
 * lock: a mutex, uncontended (one lock + unlock cycle at a time on a session made once) and
 * contended (8 workers taking turns on one lock), for etcdkit's Mutex, the etcd3 npm client's
 * lock() and, uncontended, bare grpc-js doing the two transactions a Mutex sends.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd, type Session } from '@etcdkit/core';
import { Mutex } from '@etcdkit/lock';
import { Etcd3, EtcdLockFailedError } from 'etcd3';
import { ETCD3_GRPC_OPTIONS, etcd3Hosts } from '../clients.js';
import { GrpcFloor, prefixEnd, type RawKeyValue } from '../grpc-floor.js';
import {
  type BenchContext,
  type BenchRow,
  interleave,
  type Measurement,
  measure,
  type Scenario,
  split,
  summarize,
  warmUp,
} from '../harness.js';

const SERIAL_IMPLS = ['etcdkit', 'etcd3', 'grpc-js'] as const;
type SerialImpl = (typeof SERIAL_IMPLS)[number];
const CONTENDED_IMPLS = ['etcdkit', 'etcd3'] as const;
type ContendedImpl = (typeof CONTENDED_IMPLS)[number];

const WORKERS = 8;
/** What a user-written retry loop around etcd3's lock() waits after a refusal. */
const RETRY_DELAY_MS = 10;
const SESSION_TTL = 60;

interface Counts {
  rounds: number;
  /** Uncontended cycles per implementation, over all rounds. */
  cycles: number;
  /** Contended: rounds, and seconds per implementation over all of them. */
  contendedRounds: number;
  contendedSeconds: number;
}
const FULL: Counts = { rounds: 10, cycles: 2000, contendedRounds: 5, contendedSeconds: 10 };
const QUICK: Counts = { rounds: 3, cycles: 300, contendedRounds: 3, contendedSeconds: 3 };

// ---------------------------------------------------------------------------------------------
// The floor: the Mutex's two transactions on bare stubs

interface RawResponseOp {
  responseRange?: { kvs: RawKeyValue[] };
}

/**
 * What `Mutex.lock()` + `unlock()` send when the lock is free, on bare grpc-js: one transaction
 * that puts my key if absent and reads the first-created key under the prefix, then a delete
 * guarded by my key's create revision. Same requests, no state, checks or conversions.
 */
class FloorMutex {
  private readonly key: Buffer;
  private readonly acquire: { compare: object[]; success: object[]; failure: object[] };

  constructor(
    private readonly floor: GrpcFloor,
    name: string,
    lease: string,
  ) {
    const prefix = Buffer.from(`${name}/`);
    this.key = Buffer.from(`${name}/${BigInt(lease).toString(16)}`);
    const first = {
      requestRange: {
        key: prefix,
        rangeEnd: prefixEnd(prefix),
        sortOrder: 'ASCEND',
        sortTarget: 'CREATE',
        limit: '1',
        keysOnly: true,
      },
    };
    this.acquire = {
      compare: [{ key: this.key, target: 'CREATE', result: 'EQUAL', createRevision: '0' }],
      success: [{ requestPut: { key: this.key, value: Buffer.alloc(0), lease } }, first],
      failure: [{ requestRange: { key: this.key } }, first],
    };
  }

  async cycle(): Promise<void> {
    const r = await this.floor.txn(this.acquire);
    const responses = r.responses as RawResponseOp[];
    const rev = r.succeeded ? r.header.revision : responses[0]?.responseRange?.kvs[0]?.createRevision;
    const owner = responses[1]?.responseRange?.kvs[0];
    if (rev === undefined || owner?.createRevision !== rev)
      throw new Error('lock: the floor found its lock taken; is another process using the bench prefix?');
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
    const floorMutex = new FloorMutex(floor, `${ctx.prefix}grpc-js/uncontended`, floorLease);
    const etcd3Name = `${ctx.prefix}etcd3/uncontended`;
    const ops: Record<SerialImpl, () => Promise<unknown>> = {
      etcdkit: async () => {
        await mutex.lock();
        await mutex.unlock();
      },
      // etcd3's lock grants a lease per lock (and opens its keepalive stream) and revokes it on release.
      etcd3: () => etcd3.lock(etcd3Name).do(async () => {}),
      'grpc-js': () => floorMutex.cycle(),
    };
    for (const impl of SERIAL_IMPLS) await warmUp(ops[impl], 100, 1);
    const perRound = split(counts.cycles, counts.rounds);
    const results = await interleave(SERIAL_IMPLS, counts.rounds, (impl, r) =>
      measure(ops[impl], { concurrency: 1, ops: perRound[r]!, signal: ctx.signal }),
    );
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
// Contended

interface Worker {
  /** One critical section: lock (retrying as the implementation needs), one put, unlock. */
  criticalSection(value: Buffer): Promise<void>;
  close(): Promise<void>;
}

interface Contenders {
  workers: Worker[];
  /** Lock attempts that failed (etcd3: refused because held; etcdkit: lock() rejected). */
  failed: number;
}

/** 8 etcdkit clients, each with its session and a Mutex on the same name (added to `c` as made, for cleanup). */
async function addEtcdkitWorkers(
  c: Contenders,
  ctx: BenchContext,
  name: string,
  dataKey: string,
): Promise<void> {
  for (let w = 0; w < WORKERS; w++) {
    const etcd = new Etcd({ endpoints: ctx.endpoints });
    const worker: Worker = {
      close: () => etcd.close() /* revokes the session */,
      criticalSection: async () => {},
    };
    c.workers.push(worker);
    const session = await etcd.session({ ttl: SESSION_TTL });
    const mutex = new Mutex(session, name);
    worker.criticalSection = async (value) => {
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
      await etcd.put(dataKey, value);
      await mutex.unlock();
    };
  }
}

/** 8 etcd3 clients; lock() throws when the lock is held, so each retries after 10 ms. */
function addEtcd3Workers(c: Contenders, ctx: BenchContext, name: string, dataKey: string): void {
  for (let w = 0; w < WORKERS; w++) {
    const client = new Etcd3({ hosts: etcd3Hosts(ctx.endpoints), grpcOptions: ETCD3_GRPC_OPTIONS });
    c.workers.push({
      close: async () => client.close(),
      criticalSection: async (value) => {
        for (;;) {
          try {
            await client.lock(name).do(() => client.put(dataKey).value(value).exec());
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

async function contended(ctx: BenchContext, counts: Counts): Promise<BenchRow[]> {
  const all: Record<ContendedImpl, Contenders> = {
    etcdkit: { workers: [], failed: 0 },
    etcd3: { workers: [], failed: 0 },
  };
  try {
    const name = (impl: ContendedImpl) => `${ctx.prefix}${impl}/contended`;
    const dataKey = (impl: ContendedImpl) => `${ctx.prefix}${impl}/data`;
    await addEtcdkitWorkers(all.etcdkit, ctx, name('etcdkit'), dataKey('etcdkit'));
    addEtcd3Workers(all.etcd3, ctx, name('etcd3'), dataKey('etcd3'));
    // One in-flight operation per worker: each takes a free worker and gives it back.
    const op = (impl: ContendedImpl) => {
      const idle = [...all[impl].workers];
      return async (i: number) => {
        const w = idle.pop()!;
        try {
          await w.criticalSection(Buffer.from(`worker section ${i}`));
        } finally {
          idle.push(w);
        }
      };
    };
    const ops = { etcdkit: op('etcdkit'), etcd3: op('etcd3') };
    for (const impl of CONTENDED_IMPLS) await warmUp(ops[impl], 2 * WORKERS, WORKERS);
    const failed = new Map<ContendedImpl, number>(CONTENDED_IMPLS.map((i) => [i, 0]));
    const durationMs = (counts.contendedSeconds * 1000) / counts.contendedRounds;
    const results = await interleave(CONTENDED_IMPLS, counts.contendedRounds, async (impl, _r) => {
      const c = all[impl];
      c.failed = 0;
      const m: Measurement = await measure(ops[impl], {
        concurrency: WORKERS,
        durationMs,
        signal: ctx.signal,
      });
      failed.set(impl, failed.get(impl)! + c.failed);
      return m;
    });
    const caseName = `lock+put+unlock ${WORKERS}-workers`;
    return CONTENDED_IMPLS.flatMap((impl): BenchRow[] => {
      const rounds = results.get(impl)!;
      const sections = rounds.reduce((n, m) => n + m.ops, 0);
      return [
        ...summarize(lock.name, caseName, impl, rounds, ['throughput', 'p50', 'p99', 'cpu/op']).map((row) =>
          row.metric === 'throughput' ? { ...row, unit: 'cs/s' } : row,
        ),
        {
          scenario: lock.name,
          case: caseName,
          impl,
          metric: 'failed attempts',
          value: failed.get(impl)!,
          unit: '',
          better: 'lower',
          samples: sections,
          note: `lock attempts refused or failed over ${sections} critical sections`,
        },
      ];
    });
  } finally {
    await Promise.allSettled(CONTENDED_IMPLS.flatMap((impl) => all[impl].workers.map((w) => w.close())));
  }
}

export const lock: Scenario = {
  name: 'lock',
  description: `a mutex: lock+unlock cycles one at a time on one session, and ${WORKERS} workers (${WORKERS} clients) each looping lock → put → unlock`,
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
      case: `lock+put+unlock ${WORKERS}-workers`,
      metric: 'throughput',
      against: 'etcd3',
      tolerance: -1,
      label: 'contended critical sections/s at least 2× etcd3 with a retry loop (and 0 failed attempts)',
    },
  ],

  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const counts = ctx.quick ? QUICK : FULL;
    const admin = new GrpcFloor(ctx.endpoints[0]!);
    try {
      ctx.log(`lock+unlock serial: ${counts.cycles} cycles per implementation in ${counts.rounds} rounds`);
      const rows = await uncontended(ctx, counts);
      ctx.log(
        `${WORKERS} workers: ${counts.contendedSeconds} s per implementation in ${counts.contendedRounds} rounds`,
      );
      rows.push(...(await contended(ctx, counts)));
      return rows;
    } finally {
      await admin
        .deletePrefix(ctx.prefix)
        .catch((e: unknown) => ctx.log(`cleanup of ${ctx.prefix} failed: ${e}`));
      admin.close();
    }
  },
};
