/**
 * transport: etcdkit over gRPC (the `etcdkit` column, its default) and over etcd's HTTP/JSON
 * gateway (the `gateway` column), side by side in one run: serial put latency, put throughput at
 * 64 in flight, and put→watch event latency (a write on one client seen by a watch on another,
 * both on the same transport). The `gateway ÷ gRPC` rows hold the gateway's figure divided by
 * gRPC's for each case.
 */
import { randomBytes } from 'node:crypto';
import { Etcd, type Watcher } from '@etcdkit/core';
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

const IMPLS = ['etcdkit', 'gateway'] as const;
type TransportImpl = (typeof IMPLS)[number];
const TRANSPORT: Record<TransportImpl, 'grpc' | 'gateway'> = { etcdkit: 'grpc', gateway: 'gateway' };

const VALUE_SIZE = 256;
const KEYS = 1000;
const IN_FLIGHT = 64;

interface Counts {
  rounds: number;
  serial: number;
  inFlight: number;
  events: number;
}
const FULL: Counts = { rounds: 10, serial: 1000, inFlight: 10_000, events: 1000 };
const QUICK: Counts = { rounds: 3, serial: 300, inFlight: 3000, events: 300 };

/** A writer, and a watcher on another client that resolves a waiter per key as its event arrives. */
class Side {
  readonly writer: Etcd;
  readonly reader: Etcd;
  private readonly waiting = new Map<string, () => void>();
  private watch: Watcher | undefined;
  private loop: Promise<void> | undefined;

  constructor(endpoints: string[], transport: 'grpc' | 'gateway') {
    this.writer = new Etcd({ endpoints, transport });
    this.reader = new Etcd({ endpoints, transport });
  }

  async follow(prefix: string): Promise<void> {
    const w = this.reader.watch({ prefix });
    this.watch = w;
    await w.ready;
    this.loop = (async () => {
      for await (const ev of w) this.waiting.get(ev.kv.key.toString())?.();
    })();
  }

  /** Put `key` and resolve when the watcher has its event. */
  putSeen(key: string, value: Buffer): Promise<void> {
    const seen = new Promise<void>((resolve) => this.waiting.set(key, resolve));
    return this.writer.put(key, value).then(() => seen.then(() => void this.waiting.delete(key)));
  }

  async close(): Promise<void> {
    this.watch?.close();
    await this.loop?.catch(() => {});
    await Promise.allSettled([this.writer.close(), this.reader.close()]);
  }
}

export const transport: Scenario = {
  name: 'transport',
  description: `etcdkit over gRPC (etcdkit) and over etcd's HTTP/JSON gateway (gateway): put serial, put at ${IN_FLIGHT} in flight, put→watch event`,

  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const counts = ctx.quick ? QUICK : FULL;
    const sides = Object.fromEntries(
      IMPLS.map((impl) => [impl, new Side(ctx.endpoints, TRANSPORT[impl])]),
    ) as Record<TransportImpl, Side>;
    const value = randomBytes(VALUE_SIZE);
    const keys = Object.fromEntries(
      IMPLS.map((impl) => [impl, Array.from({ length: KEYS }, (_, i) => `${ctx.prefix}${impl}/k${i}`)]),
    ) as Record<TransportImpl, string[]>;
    const put = (impl: TransportImpl) => (i: number) => sides[impl].writer.put(keys[impl][i % KEYS]!, value);
    // Each event key is new, so no two operations wait for the same key.
    const event = (impl: TransportImpl) => (i: number) =>
      sides[impl].putSeen(`${ctx.prefix}${impl}/events/e${i}`, value);
    try {
      for (const impl of IMPLS) await sides[impl].follow(`${ctx.prefix}${impl}/events/`);
      ctx.log('warming up');
      for (const impl of IMPLS) {
        await warmUp(put(impl), KEYS, 8);
        await warmUp(event(impl), 50, 1, 10_000_000);
      }
      const rows: BenchRow[] = [];
      const cases = [
        { name: 'put serial', op: put, concurrency: 1, total: counts.serial, metric: 'p50' as const },
        {
          name: `put ${IN_FLIGHT}-inflight`,
          op: put,
          concurrency: IN_FLIGHT,
          total: counts.inFlight,
          metric: 'throughput' as const,
        },
        { name: 'put→watch event', op: event, concurrency: 1, total: counts.events, metric: 'p50' as const },
      ];
      for (const c of cases) {
        ctx.log(`${c.name}: ${c.total} ops per transport in ${counts.rounds} rounds`);
        const perRound = split(c.total, counts.rounds);
        const results = await interleave(IMPLS, counts.rounds, (impl, r) =>
          measure(c.op(impl), {
            concurrency: c.concurrency,
            ops: perRound[r]!,
            offset: r * 7919 + (c.name === 'put→watch event' ? 1_000_000 : 0),
            signal: ctx.signal,
          }),
        );
        const metrics =
          c.metric === 'p50' ? (['p50', 'p99', 'cpu/op'] as const) : (['throughput', 'cpu/op'] as const);
        for (const impl of IMPLS)
          rows.push(...summarize(transport.name, c.name, impl, results.get(impl)!, metrics));
        const of = (impl: TransportImpl) =>
          rows.find((r) => r.case === c.name && r.impl === impl && r.metric === c.metric)!.value;
        // The gateway's figure over gRPC's, per round too (how much the ratio moved).
        const perRoundRatio = results.get('gateway')!.map((g, r) => {
          const e = results.get('etcdkit')![r]!;
          return c.metric === 'throughput'
            ? g.opsPerSec / e.opsPerSec
            : median(g.latenciesMs) / median(e.latenciesMs);
        });
        const ratio = of('gateway') / of('etcdkit');
        rows.push({
          scenario: transport.name,
          case: c.name,
          impl: 'gateway',
          metric: `${c.metric} gateway÷gRPC`,
          value: ratio,
          unit: '×',
          better: c.metric === 'throughput' ? 'higher' : 'lower',
          samples: perRoundRatio.length,
          note: `per round: ${perRoundRatio.map((x) => x.toFixed(2)).join(', ')}`,
        });
        ctx.log(`${c.name}: gateway ${c.metric} is ${ratio.toFixed(2)}× gRPC's`);
      }
      return rows;
    } finally {
      await Promise.allSettled(IMPLS.map((impl) => sides[impl].close()));
      const admin = new Etcd({ endpoints: ctx.endpoints });
      await admin
        .delete({ prefix: ctx.prefix })
        .catch((e: unknown) => ctx.log(`cleanup of ${ctx.prefix} failed: ${e}`));
      await admin.close();
    }
  },
};
