/**
 * stm: commit throughput under contention. 8 workers (8 clients) move random amounts between
 * 10 accounts, each transfer one transaction that reads two balances and writes both:
 * etcdkit's `etcd.stm()`, the etcd3 npm client's `stm().transact()`, and on bare grpc-js a
 * hand-written compare-and-swap loop doing the same work (one txn reads both, one txn writes
 * both if neither changed, else reads them back).
 *
 * Two cases: isolation 'serializable' (etcdkit and etcd3 alike), and etcdkit's default
 * 'serializable-snapshot'. etcd3 1.1.2 is left out of the latter: it bounds the written keys by
 * the oldest mod revision it read instead of the snapshot's revision, so a transfer between two
 * accounts last written at different revisions conflicts on every attempt and never commits.
 *
 * Then a shared counter: 8 workers each adding 1, etcdkit's `Counter.add()` against a raw CAS
 * loop on bare grpc-js (etcd3 has no counter).
 */
import { Etcd, type StmIsolation } from '@etcdkit/core';
import { Counter } from '@etcdkit/recipes';
import { Etcd3, type Isolation, STMConflictError } from 'etcd3';
import { ETCD3_GRPC_OPTIONS, etcd3Hosts } from '../clients.js';
import { GrpcFloor, type RawKeyValue } from '../grpc-floor.js';
import {
  type BenchContext,
  type BenchRow,
  interleave,
  type Measurement,
  measure,
  type Scenario,
  summarize,
  warmUp,
} from '../harness.js';

const WORKERS = 8;
const ACCOUNTS = 10;
const START = 1_000_000;

interface Counts {
  rounds: number;
  /** Seconds per implementation, over all rounds. */
  seconds: number;
}
const FULL: Counts = { rounds: 5, seconds: 10 };
const QUICK: Counts = { rounds: 3, seconds: 3 };

interface RawResponseOp {
  responseRange?: { kvs: RawKeyValue[] };
}

/** One transfer (or one add) per call on one of WORKERS clients; attempts counted. */
interface Workers {
  run(i: number): Promise<void>;
  attempts: number;
  close(): Promise<void>;
}

function pick(i: number): [number, number, number] {
  // A fixed pseudo-random sequence, the same for every implementation.
  const x = Math.imul(i + 1, 2654435761) >>> 0;
  const from = x % ACCOUNTS;
  const to = (from + 1 + ((x >>> 8) % (ACCOUNTS - 1))) % ACCOUNTS;
  return [from, to, 1 + ((x >>> 16) % 10)];
}

/** Hands each operation a free worker of `n`, and takes it back after. */
function pool<W>(items: W[], fn: (w: W, i: number) => Promise<void>): (i: number) => Promise<void> {
  const idle = [...items];
  return async (i) => {
    const w = idle.pop()!;
    try {
      await fn(w, i);
    } finally {
      idle.push(w);
    }
  };
}

async function openAccounts(floor: GrpcFloor, prefix: string): Promise<void> {
  for (let a = 0; a < ACCOUNTS; a++)
    await floor.put({ key: Buffer.from(`${prefix}${a}`), value: Buffer.from(String(START)) });
}

function etcdkitStm(ctx: BenchContext, prefix: string, isolation: StmIsolation): Workers {
  const clients = Array.from({ length: WORKERS }, () => new Etcd({ endpoints: ctx.endpoints }));
  const w: Workers = {
    attempts: 0,
    run: pool(clients, async (etcd, i) => {
      const [from, to, amount] = pick(i);
      const keys = [`${prefix}${from}`, `${prefix}${to}`];
      await etcd.stm(
        async (tx) => {
          w.attempts++;
          const [a, b] = (await Promise.all(keys.map((k) => tx.get(k)))).map((v) =>
            Number(v!.toString()),
          ) as [number, number];
          const moved = Math.min(a, amount);
          tx.put(`${prefix}${from}`, String(a - moved));
          tx.put(`${prefix}${to}`, String(b + moved));
        },
        // Both balances in one round trip, as the CAS loop reads them.
        { isolation, prefetch: keys },
      );
    }),
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
    },
  };
  return w;
}

/** etcd3's Isolation.Serializable (a const enum, so spelled by value). */
const ETCD3_SERIALIZABLE = 1 as Isolation;

function etcd3Stm(ctx: BenchContext, prefix: string): Workers {
  const clients = Array.from(
    { length: WORKERS },
    () => new Etcd3({ hosts: etcd3Hosts(ctx.endpoints), grpcOptions: ETCD3_GRPC_OPTIONS }),
  );
  const w: Workers = {
    attempts: 0,
    run: pool(clients, async (client, i) => {
      const [from, to, amount] = pick(i);
      // etcd3 gives up after `retries` conflicts; a user loops around it, as here.
      for (;;) {
        try {
          await client.stm({ retries: 100, isolation: ETCD3_SERIALIZABLE }).transact(async (tx) => {
            w.attempts++;
            const [a, b] = (await Promise.all([
              tx.get(`${prefix}${from}`).number(),
              tx.get(`${prefix}${to}`).number(),
            ])) as [number, number];
            const moved = Math.min(a, amount);
            await tx.put(`${prefix}${from}`).value(String(a - moved));
            await tx.put(`${prefix}${to}`).value(String(b + moved));
          });
          return;
        } catch (e) {
          if (!(e instanceof STMConflictError) || ctx.signal.aborted) throw e;
        }
      }
    }),
    close: async () => {
      for (const c of clients) c.close();
    },
  };
  return w;
}

const rangeOf = (key: Buffer) => ({ requestRange: { key } });
const kvOf = (r: object | undefined): RawKeyValue | undefined => (r as RawResponseOp)?.responseRange?.kvs[0];

/** The transfer as one would write it by hand on bare stubs: read both, CAS both, reuse the else reads. */
function grpcCas(ctx: BenchContext, prefix: string): Workers {
  const floors = Array.from({ length: WORKERS }, () => new GrpcFloor(ctx.endpoints[0]!));
  const w: Workers = {
    attempts: 0,
    run: pool(floors, async (floor, i) => {
      const [from, to, amount] = pick(i);
      const ka = Buffer.from(`${prefix}${from}`);
      const kb = Buffer.from(`${prefix}${to}`);
      const first = await floor.txn({ compare: [], success: [rangeOf(ka), rangeOf(kb)], failure: [] });
      let a = kvOf(first.responses[0])!;
      let b = kvOf(first.responses[1])!;
      for (;;) {
        w.attempts++;
        const va = Number(a.value.toString());
        const vb = Number(b.value.toString());
        const moved = Math.min(va, amount);
        const r = await floor.txn({
          compare: [
            { key: ka, target: 'MOD', result: 'EQUAL', modRevision: a.modRevision },
            { key: kb, target: 'MOD', result: 'EQUAL', modRevision: b.modRevision },
          ],
          success: [
            { requestPut: { key: ka, value: Buffer.from(String(va - moved)) } },
            { requestPut: { key: kb, value: Buffer.from(String(vb + moved)) } },
          ],
          failure: [rangeOf(ka), rangeOf(kb)],
        });
        if (r.succeeded) return;
        a = kvOf(r.responses[0])!;
        b = kvOf(r.responses[1])!;
      }
    }),
    close: async () => {
      for (const f of floors) f.close();
    },
  };
  return w;
}

function etcdkitCounter(ctx: BenchContext, key: string): Workers {
  const clients = Array.from({ length: WORKERS }, () => new Etcd({ endpoints: ctx.endpoints }));
  const counters = clients.map((c) => new Counter(c, key));
  return {
    attempts: 0,
    run: pool(counters, async (c) => {
      await c.add(1);
    }),
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
    },
  };
}

/** A counter add by hand on bare stubs: read, CAS on the mod revision, reuse the else read. */
function grpcCounter(ctx: BenchContext, key: string): Workers {
  const floors = Array.from({ length: WORKERS }, () => new GrpcFloor(ctx.endpoints[0]!));
  const k = Buffer.from(key);
  const w: Workers = {
    attempts: 0,
    run: pool(floors, async (floor) => {
      let kv: RawKeyValue | undefined = (await floor.range({ key: k })).kvs[0];
      for (;;) {
        w.attempts++;
        const next = BigInt(kv ? kv.value.toString() : '0') + 1n;
        const r = await floor.txn({
          compare: [{ key: k, target: 'MOD', result: 'EQUAL', modRevision: kv?.modRevision ?? '0' }],
          success: [{ requestPut: { key: k, value: Buffer.from(next.toString()) } }],
          failure: [rangeOf(k)],
        });
        if (r.succeeded) return;
        kv = kvOf(r.responses[0]);
      }
    }),
    close: async () => {
      for (const f of floors) f.close();
    },
  };
  return w;
}

async function contended(
  ctx: BenchContext,
  counts: Counts,
  caseName: string,
  unit: string,
  impls: Record<string, Workers>,
): Promise<BenchRow[]> {
  const names = Object.keys(impls);
  for (const impl of names) await warmUp((i) => impls[impl]!.run(i), 4 * WORKERS, WORKERS);
  const attempts = new Map<string, { attempts: number; ops: number }>(
    names.map((n) => [n, { attempts: 0, ops: 0 }]),
  );
  const durationMs = (counts.seconds * 1000) / counts.rounds;
  const results = await interleave(names, counts.rounds, async (impl, r) => {
    const w = impls[impl]!;
    w.attempts = 0;
    const m: Measurement = await measure((i) => w.run(i), {
      concurrency: WORKERS,
      durationMs,
      offset: r * 1_000_000,
      signal: ctx.signal,
    });
    const a = attempts.get(impl)!;
    a.attempts += w.attempts;
    a.ops += m.ops;
    return m;
  });
  return names.flatMap((impl): BenchRow[] => {
    const rows = summarize(stm.name, caseName, impl, results.get(impl)!, [
      'throughput',
      'p50',
      'p99',
      'cpu/op',
    ]).map((row) => (row.metric === 'throughput' ? { ...row, unit } : row));
    const a = attempts.get(impl)!;
    if (a.attempts > 0)
      rows.push({
        scenario: stm.name,
        case: caseName,
        impl,
        metric: 'runs/commit',
        value: a.attempts / a.ops,
        unit: '',
        better: 'lower',
        samples: a.ops,
        note: 'times the transaction body ran per commit (1 = no conflict)',
      });
    return rows;
  });
}

export const stm: Scenario = {
  name: 'stm',
  description: `${WORKERS} workers (${WORKERS} clients) making transfers between ${ACCOUNTS} accounts with an STM or a hand-written CAS loop, and adding 1 to one shared counter`,
  targets: [
    {
      case: `transfer ${WORKERS}-workers serializable`,
      metric: 'throughput',
      against: 'etcd3',
      tolerance: 0,
      label: "contended STM commits/s at least etcd3's stm().transact() (serializable)",
    },
    {
      case: `transfer ${WORKERS}-workers serializable-snapshot`,
      metric: 'throughput',
      against: 'grpc-js',
      tolerance: 0.2,
      label: 'contended STM commits/s within 0.8× of a hand-written CAS loop on bare grpc-js',
    },
    {
      case: `counter add ${WORKERS}-workers`,
      metric: 'throughput',
      against: 'grpc-js',
      tolerance: 0.2,
      label: 'Counter.add() adds/s within 0.8× of a raw CAS loop on bare grpc-js',
    },
  ],

  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const counts = ctx.quick ? QUICK : FULL;
    const admin = new GrpcFloor(ctx.endpoints[0]!);
    const made: Workers[] = [];
    const make = (w: Workers): Workers => {
      made.push(w);
      return w;
    };
    try {
      const books: string[] = [];
      const rows: BenchRow[] = [];
      for (const isolation of ['serializable', 'serializable-snapshot'] as const) {
        const acct = (impl: string) => `${ctx.prefix}${impl}/${isolation}/acct/`;
        const impls: Record<string, Workers> = {
          etcdkit: make(etcdkitStm(ctx, acct('etcdkit'), isolation)),
          ...(isolation === 'serializable' ? { etcd3: make(etcd3Stm(ctx, acct('etcd3'))) } : {}),
          'grpc-js': make(grpcCas(ctx, acct('grpc-js'))),
        };
        for (const impl of Object.keys(impls)) {
          await openAccounts(admin, acct(impl));
          books.push(acct(impl));
        }
        ctx.log(
          `transfers (${isolation}): ${counts.seconds} s per implementation in ${counts.rounds} rounds`,
        );
        rows.push(
          ...(await contended(ctx, counts, `transfer ${WORKERS}-workers ${isolation}`, 'commits/s', impls)),
        );
      }
      // The books must balance for every implementation, or the figures mean nothing.
      for (const p of books) {
        let total = 0;
        for (let a = 0; a < ACCOUNTS; a++)
          total += Number((await admin.range({ key: Buffer.from(`${p}${a}`) })).kvs[0]!.value);
        if (total !== ACCOUNTS * START) throw new Error(`stm: the accounts under ${p} lost money (${total})`);
      }
      ctx.log(`counter: ${counts.seconds} s per implementation in ${counts.rounds} rounds`);
      rows.push(
        ...(await contended(ctx, counts, `counter add ${WORKERS}-workers`, 'adds/s', {
          etcdkit: make(etcdkitCounter(ctx, `${ctx.prefix}etcdkit/counter`)),
          'grpc-js': make(grpcCounter(ctx, `${ctx.prefix}grpc-js/counter`)),
        })),
      );
      return rows;
    } finally {
      await Promise.allSettled(made.map((w) => w.close()));
      await admin
        .deletePrefix(ctx.prefix)
        .catch((e: unknown) => ctx.log(`cleanup of ${ctx.prefix} failed: ${e}`));
      admin.close();
    }
  },
};
