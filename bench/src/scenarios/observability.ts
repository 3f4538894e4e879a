/**
 * observability: what etcdkit's diagnostics channels cost. Put at 64 in flight, side by side:
 * `etcdkit` with nobody subscribed (the channels build no message), and `etcdkit+channels` with
 * a subscriber on every channel (the rpc TracingChannel included) that only counts messages.
 * The `with/without` row is the throughput ratio of the two.
 */
import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { DIAGNOSTICS_CHANNELS, Etcd } from '@etcdkit/core';
import { GrpcFloor } from '../grpc-floor.js';
import {
  type BenchContext,
  type BenchRow,
  interleave,
  measure,
  median,
  type Scenario,
  split,
  summarize,
  warmUp,
} from '../harness.js';

const IMPLS = ['etcdkit', 'etcdkit+channels'] as const;
type Impl = (typeof IMPLS)[number];

const VALUE_SIZE = 256;
const KEYS = 1000;
const IN_FLIGHT = 64;
const FULL = { rounds: 20, ops: 20_000 };
const QUICK = { rounds: 4, ops: 4000 };

/** Every channel etcdkit publishes on, with the rpc TracingChannel's five. */
const CHANNELS = [
  ...['start', 'end', 'asyncStart', 'asyncEnd', 'error'].map(
    (e) => `tracing:${DIAGNOSTICS_CHANNELS.rpc}:${e}`,
  ),
  DIAGNOSTICS_CHANNELS.connection,
  DIAGNOSTICS_CHANNELS.session,
  DIAGNOSTICS_CHANNELS.watch,
  DIAGNOSTICS_CHANNELS.lock,
  DIAGNOSTICS_CHANNELS.election,
  DIAGNOSTICS_CHANNELS.config,
];

export const observability: Scenario = {
  name: 'observability',
  description: `put (${VALUE_SIZE}-byte values) at ${IN_FLIGHT} in flight without and with a subscriber on every diagnostics channel`,

  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const counts = ctx.quick ? QUICK : FULL;
    const admin = new GrpcFloor(ctx.endpoints[0]!);
    const etcd = new Etcd({ endpoints: ctx.endpoints });
    const value = randomBytes(VALUE_SIZE);
    const keys = Object.fromEntries(
      IMPLS.map((impl) => [impl, Array.from({ length: KEYS }, (_, i) => `${ctx.prefix}${impl}/k${i}`)]),
    ) as Record<Impl, string[]>;
    const put = (impl: Impl) => (i: number) => etcd.put(keys[impl][i % KEYS]!, value);
    let messages = 0;
    const count = (): void => {
      messages++;
    };
    try {
      ctx.log('warming up (writes every key once)');
      for (const impl of IMPLS) await warmUp(put(impl), KEYS, 8);
      const perRound = split(counts.ops, counts.rounds);
      ctx.log(`put 64-inflight: ${counts.ops} ops per variant in ${counts.rounds} rounds`);
      const results = await interleave(IMPLS, counts.rounds, async (impl, r) => {
        const on = impl === 'etcdkit+channels';
        if (on) for (const c of CHANNELS) subscribe(c, count);
        try {
          return await measure(put(impl), {
            concurrency: IN_FLIGHT,
            ops: perRound[r]!,
            offset: r * 7919,
            signal: ctx.signal,
          });
        } finally {
          if (on) for (const c of CHANNELS) unsubscribe(c, count);
        }
      });
      if (messages === 0) throw new Error('observability: the subscriber saw no message');
      const rows: BenchRow[] = [];
      for (const impl of IMPLS)
        rows.push(
          ...summarize(observability.name, 'put 64-inflight', impl, results.get(impl)!, [
            'throughput',
            'p50',
            'cpu/op',
          ]),
        );
      const without = median(results.get('etcdkit')!.map((m) => m.opsPerSec));
      const withSub = median(results.get('etcdkit+channels')!.map((m) => m.opsPerSec));
      rows.push({
        scenario: observability.name,
        case: 'put 64-inflight',
        impl: 'etcdkit',
        metric: 'with/without',
        value: withSub / without,
        unit: '×',
        better: 'higher',
        note: 'throughput with a subscriber on every channel over throughput with none',
      });
      return rows;
    } finally {
      await etcd.close();
      await admin
        .deletePrefix(ctx.prefix)
        .catch((e: unknown) => ctx.log(`cleanup of ${ctx.prefix} failed: ${e}`));
      admin.close();
    }
  },
};
