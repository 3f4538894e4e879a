/**
 * core-kv: single-key put and get, serial (latency) and 64 in flight (throughput), client CPU
 * per operation, for etcdkit, the etcd3 npm client and bare grpc-js stubs.
 */
import { randomBytes } from 'node:crypto';
import { Etcd } from '@etcdkit/core';
import { Etcd3 } from 'etcd3';
import { ETCD3_GRPC_OPTIONS, etcd3Hosts } from '../clients.js';
import { GrpcFloor } from '../grpc-floor.js';
import {
  type BenchContext,
  type BenchRow,
  interleave,
  interleaveSerial,
  measure,
  type Scenario,
  split,
  summarize,
  warmUp,
} from '../harness.js';

const IMPLS = ['etcdkit', 'etcd3', 'grpc-js'] as const;
type KvImpl = (typeof IMPLS)[number];

const VALUE_SIZE = 256;
/** Distinct keys per implementation; puts and gets cycle through them. */
const KEYS = 1000;
const IN_FLIGHT = 64;

interface Counts {
  rounds: number;
  /** Serial operations per implementation, over all rounds. */
  serial: number;
  /** Operations at 64 in flight per implementation, over all rounds. */
  inFlight: number;
}
const FULL: Counts = { rounds: 20, serial: 2000, inFlight: 20_000 };
const QUICK: Counts = { rounds: 3, serial: 300, inFlight: 3000 };

interface KvClient {
  put(key: string, value: Buffer): Promise<unknown>;
  /** Resolves with the value, so every implementation decodes as much as a caller would need. */
  get(key: string): Promise<Buffer | undefined>;
  close(): Promise<void>;
}

function clients(endpoints: string[]): Record<KvImpl, KvClient> {
  const etcdkit = new Etcd({ endpoints });
  const etcd3 = new Etcd3({ hosts: etcd3Hosts(endpoints), grpcOptions: ETCD3_GRPC_OPTIONS });
  const floor = new GrpcFloor(endpoints[0]!);
  return {
    etcdkit: {
      put: (k, v) => etcdkit.put(k, v),
      get: async (k) => (await etcdkit.get(k))?.value,
      close: () => etcdkit.close(),
    },
    etcd3: {
      put: (k, v) => etcd3.put(k).value(v).exec(),
      get: async (k) => (await etcd3.get(k).buffer()) ?? undefined,
      close: async () => etcd3.close(),
    },
    'grpc-js': {
      put: (k, v) => floor.put({ key: Buffer.from(k), value: v }),
      get: async (k) => (await floor.range({ key: Buffer.from(k) })).kvs[0]?.value,
      close: async () => floor.close(),
    },
  };
}

const SERIAL_METRICS = ['p50', 'p99', 'cpu/op'] as const;
const IN_FLIGHT_METRICS = ['throughput', 'p50', 'p99', 'cpu/op'] as const;

export const coreKv: Scenario = {
  name: 'core-kv',
  description: `put and get of one key (${VALUE_SIZE}-byte values): serial latency, throughput at ${IN_FLIGHT} in flight, client CPU per op`,
  targets: [
    {
      case: 'put 64-inflight',
      metric: 'throughput',
      against: 'grpc-js',
      tolerance: 0.1,
      label: 'put throughput within 10% of bare grpc-js',
    },
    {
      case: 'get 64-inflight',
      metric: 'throughput',
      against: 'grpc-js',
      tolerance: 0.1,
      label: 'get throughput within 10% of bare grpc-js',
    },
    {
      case: 'put 64-inflight',
      metric: 'throughput',
      against: 'etcd3',
      tolerance: 0,
      label: 'put throughput not below etcd3',
    },
    {
      case: 'get 64-inflight',
      metric: 'throughput',
      against: 'etcd3',
      tolerance: 0,
      label: 'get throughput not below etcd3',
    },
    {
      case: 'put serial',
      metric: 'p50',
      against: 'grpc-js',
      tolerance: 0.1,
      label: 'serial put p50 within 10% of bare grpc-js',
    },
  ],

  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const counts = ctx.quick ? QUICK : FULL;
    const admin = new GrpcFloor(ctx.endpoints[0]!);
    const impls = clients(ctx.endpoints);
    const value = randomBytes(VALUE_SIZE);
    // Separate key prefixes per implementation; the same key names and value under each.
    const keys = Object.fromEntries(
      IMPLS.map((impl) => [impl, Array.from({ length: KEYS }, (_, i) => `${ctx.prefix}${impl}/k${i}`)]),
    ) as Record<KvImpl, string[]>;
    const put = (impl: KvImpl) => (i: number) => impls[impl].put(keys[impl][i % KEYS]!, value);
    const get = (impl: KvImpl) => (i: number) => impls[impl].get(keys[impl][i % KEYS]!);

    // Compacting between cases gives every case the same store state to start from.
    let compacted = '';
    const compact = async () => {
      const { header } = await admin.status();
      if (header.revision === compacted) return; // nothing written since (reads only)
      await admin.compact(header.revision);
      compacted = header.revision;
    };

    try {
      ctx.log('warming up (writes every key once)');
      for (const impl of IMPLS) {
        await warmUp(put(impl), KEYS, 8);
        await warmUp(get(impl), KEYS, 8);
        const v = await impls[impl].get(keys[impl][0]!);
        if (!v?.equals(value)) throw new Error(`core-kv: ${impl} did not read back the value it wrote`);
      }
      await compact();

      const rows: BenchRow[] = [];
      const cases = [
        { name: 'put serial', op: put, concurrency: 1, total: counts.serial, metrics: SERIAL_METRICS },
        { name: 'get serial', op: get, concurrency: 1, total: counts.serial, metrics: SERIAL_METRICS },
        {
          name: 'put 64-inflight',
          op: put,
          concurrency: IN_FLIGHT,
          total: counts.inFlight,
          metrics: IN_FLIGHT_METRICS,
        },
        {
          name: 'get 64-inflight',
          op: get,
          concurrency: IN_FLIGHT,
          total: counts.inFlight,
          metrics: IN_FLIGHT_METRICS,
        },
      ];
      for (const c of cases) {
        ctx.log(`${c.name}: ${c.total} ops per implementation in ${counts.rounds} rounds`);
        const perRound = split(c.total, counts.rounds);
        // Serial latency: the implementations take turns every few operations; in flight: per round.
        const results =
          c.concurrency === 1
            ? await interleaveSerial(
                IMPLS,
                { etcdkit: c.op('etcdkit'), etcd3: c.op('etcd3'), 'grpc-js': c.op('grpc-js') },
                { perRound, signal: ctx.signal },
              )
            : await interleave(IMPLS, counts.rounds, (impl, r) =>
                measure(c.op(impl), {
                  concurrency: c.concurrency,
                  ops: perRound[r]!,
                  offset: r * 7919,
                  signal: ctx.signal,
                }),
              );
        for (const impl of IMPLS)
          rows.push(...summarize(coreKv.name, c.name, impl, results.get(impl)!, c.metrics));
        await compact();
      }
      return rows;
    } finally {
      await Promise.allSettled(IMPLS.map((impl) => impls[impl].close()));
      await admin
        .deletePrefix(ctx.prefix)
        .catch((e: unknown) => ctx.log(`cleanup of ${ctx.prefix} failed: ${e}`));
      admin.close();
    }
  },
};
