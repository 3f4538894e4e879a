/**
 * queue: 4 producers and 4 consumers, each on a client of its own, moving items through
 * `@etcdkit/recipes`' `Queue` (enqueue → dequeue) and `WorkQueue` (enqueue → claim → ack).
 * Producers enqueue as fast as etcd takes them; each value carries the time of its enqueue call,
 * and the consumer that gets the item takes the end-to-end latency. Throughput is items through
 * the queue per second, from the first enqueue to the last item received.
 *
 * Every item must come out exactly once: a run that loses or repeats an item fails. (Order is
 * not checked here: two consumers' answers may reach this process in another order than etcd
 * applied their takes; the recipes' tests check FIFO order.)
 *
 * The etcd3 npm client has no queue. The Queue cases have a floor on bare grpc-js: the RPCs an
 * item needs at least (enqueue: one txn that creates the key; dequeue: the PUT event on a watch the
 * consumer keeps open, then one txn that deletes the item if it is unchanged), nothing else.
 */

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AbortError, Etcd, type Session } from '@etcdkit/core';
import { Queue, WorkQueue } from '@etcdkit/recipes';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { GrpcFloor, prefixEnd, type RawWatchResponse } from '../grpc-floor.js';
import {
  type BenchContext,
  type BenchRow,
  collectGarbage,
  cpuMicros,
  type Measurement,
  measurement,
  type Scenario,
  summarize,
} from '../harness.js';
import {
  addCounters,
  counterDelta,
  describePerOp,
  emptyCounters,
  type ServerCounters,
  serverCounters,
} from '../server-metrics.js';

const PRODUCERS = 4;
const CONSUMERS = 4;

interface Counts {
  rounds: number;
  /** Items per round, over all producers. */
  items: number;
  /** Items per round of the serial case. */
  serial: number;
}
const FULL: Counts = { rounds: 5, items: 1000, serial: 200 };
const QUICK: Counts = { rounds: 3, items: 200, serial: 30 };

/** One end of the queue on one client: put an item in, or get the next one out. */
interface Ends {
  enqueue(p: number, value: string): Promise<void>;
  /** The next item's value (and what finishes it after); rejects with an AbortError when `signal` aborts. */
  dequeue(c: number, signal: AbortSignal): Promise<{ value: Buffer; finish?: () => Promise<void> }>;
}

interface Item {
  p: number;
  n: number;
  t: number;
}

/**
 * One round: each producer enqueues its share one after another, the consumers take items until
 * all are out. Latency per item: its enqueue call → a consumer has it.
 */
async function round(
  ends: Ends,
  items: number,
  signal: AbortSignal,
  window = Infinity,
): Promise<Measurement> {
  const share = Array.from(
    { length: PRODUCERS },
    (_, p) => Math.floor(items / PRODUCERS) + (p < items % PRODUCERS ? 1 : 0),
  );
  const latencies: number[] = [];
  const seen = share.map((n) => new Uint8Array(n));
  let received = 0;
  let sent = 0;
  // Producers held back by the window, woken one receipt at a time.
  const held: (() => void)[] = [];
  const done = new AbortController();
  done.signal.addEventListener('abort', () => {
    for (const wake of held.splice(0)) wake();
  });
  const stop = () => done.abort();
  signal.addEventListener('abort', stop, { once: true });
  let failure: Error | undefined;
  const fail = (err: Error) => {
    failure ??= err;
    done.abort();
  };

  collectGarbage();
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  const consumer = async (c: number) => {
    while (received < items && !done.signal.aborted) {
      let got: { value: Buffer; finish?: () => Promise<void> };
      try {
        got = await ends.dequeue(c, done.signal);
      } catch (err) {
        if (done.signal.aborted && err instanceof AbortError) return;
        throw err;
      }
      const at = performance.now();
      const item = JSON.parse(got.value.toString()) as Item;
      latencies.push(at - item.t);
      if (seen[item.p]![item.n]) return fail(new Error(`item ${item.p}/${item.n} came out twice`));
      seen[item.p]![item.n] = 1;
      // Throughput counts finished items (a work item is done when acked), latency the receipt.
      await got.finish?.();
      held.shift()?.();
      if (++received === items) done.abort();
    }
  };
  const producer = async (p: number) => {
    for (let n = 0; n < share[p]! && !done.signal.aborted; n++) {
      while (sent - received >= window && !done.signal.aborted)
        await new Promise<void>((resolve) => held.push(resolve));
      if (done.signal.aborted) return;
      sent++;
      await ends.enqueue(p, JSON.stringify({ p, n, t: performance.now() } satisfies Item));
    }
  };
  try {
    await Promise.all([
      ...Array.from({ length: PRODUCERS }, (_, p) => producer(p)),
      ...Array.from({ length: CONSUMERS }, (_, c) => consumer(c)),
    ]);
  } catch (err) {
    done.abort();
    throw err;
  } finally {
    signal.removeEventListener('abort', stop);
  }
  const elapsedMs = performance.now() - t0;
  const cpu = cpuMicros() - cpu0;
  if (signal.aborted) throw signal.reason ?? new Error('aborted');
  if (failure) throw failure;
  if (received !== items) throw new Error(`only ${received} of ${items} items came out`);
  return measurement(latencies, elapsedMs, cpu, items);
}

/**
 * Two cases on one queue: saturated (producers as fast as etcd takes them: throughput, and a
 * latency that includes the wait behind the backlog), then serial (one item in the queue at a
 * time, every consumer waiting on its watch: the latency of the path itself).
 */
async function runCases(
  ctx: BenchContext,
  counts: Counts,
  operation: string,
  impl: string,
  ends: Ends,
): Promise<BenchRow[]> {
  // Warm-up: connections open, watches tried, code optimised.
  await round(ends, 40, ctx.signal);
  const saturated: Measurement[] = [];
  const serial: Measurement[] = [];
  const rpcs: ServerCounters = emptyCounters();
  let serialItems = 0;
  for (let r = 0; r < counts.rounds; r++) {
    saturated.push(await round(ends, counts.items, ctx.signal));
    const before = await serverCounters(ctx.endpoints[0]!);
    serial.push(await round(ends, counts.serial, ctx.signal, 1));
    addCounters(rpcs, counterDelta(before, await serverCounters(ctx.endpoints[0]!)));
    serialItems += counts.serial;
  }
  const unary = [...rpcs.unary.values()].reduce((a, b) => a + b, 0);
  return [
    ...summarize(queue.name, `${operation} ${PRODUCERS}×${CONSUMERS}`, impl, saturated, [
      'throughput',
      'p50',
      'p99',
      'cpu/op',
    ]).map((row) => (row.metric === 'throughput' ? { ...row, unit: 'items/s' } : row)),
    ...summarize(queue.name, `${operation} serial`, impl, serial, ['p50', 'p99']),
    {
      scenario: queue.name,
      case: `${operation} serial`,
      impl,
      metric: 'RPCs/item',
      value: unary / serialItems,
      unit: '',
      better: 'lower',
      samples: serialItems,
      note: `unary RPCs per item, counted by etcd (/metrics), ${CONSUMERS} consumers waiting: ${describePerOp(rpcs, serialItems)}`,
    },
  ];
}

/**
 * The floor of a queue consumer: one Watch on the prefix, kept open, mirrors the items present
 * (PUT adds, DELETE removes, in revision order); a dequeue tries the oldest with one txn (delete
 * it if its mod revision is unchanged) and moves on to the next when another consumer was first.
 */
class FloorConsumer {
  private readonly items = new Map<string, { key: Buffer; value: Buffer; modRevision: string }>();
  private wake: (() => void) | undefined;
  private readonly stream: ClientDuplexStream<object, RawWatchResponse>;
  readonly ready: Promise<void>;

  constructor(
    private readonly floor: GrpcFloor,
    prefix: Buffer,
  ) {
    this.stream = floor.watch();
    this.ready = new Promise<void>((resolve, reject) => {
      this.stream.on('error', (e: Error & { code?: number }) => {
        if (e.code !== 1) reject(e);
      });
      this.stream.on('data', (r: RawWatchResponse) => {
        if (r.created) resolve();
        for (const ev of r.events) {
          const k = ev.kv.key.toString('latin1');
          if (ev.type === 'PUT')
            this.items.set(k, { key: ev.kv.key, value: ev.kv.value, modRevision: ev.kv.modRevision });
          else this.items.delete(k);
        }
        if (r.events.length > 0) {
          const w = this.wake;
          this.wake = undefined;
          w?.();
        }
      });
    });
    this.stream.write({ createRequest: { key: prefix, rangeEnd: prefixEnd(prefix) } });
  }

  async dequeue(signal: AbortSignal): Promise<{ value: Buffer }> {
    for (;;) {
      for (const [k, item] of this.items) {
        this.items.delete(k);
        const r = await this.floor.txn({
          compare: [{ key: item.key, target: 'MOD', result: 'EQUAL', modRevision: item.modRevision }],
          success: [{ requestDeleteRange: { key: item.key } }],
          failure: [],
        });
        if (r.succeeded) return { value: item.value };
      }
      if (signal.aborted) throw new AbortError('dequeue aborted', { cause: signal.reason });
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        this.wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
      });
    }
  }

  close(): void {
    this.stream.cancel();
  }
}

/** The floor's ends: producers create keys with one txn each, consumers as FloorConsumer. */
async function floorEnds(ctx: BenchContext, floors: GrpcFloor[]): Promise<{ ends: Ends; close(): void }> {
  const prefix = `${ctx.prefix}floor/`;
  const consumers = floors.slice(PRODUCERS).map((f) => new FloorConsumer(f, Buffer.from(prefix)));
  await Promise.all(consumers.map((c) => c.ready));
  return {
    ends: {
      enqueue: async (p, value) => {
        for (;;) {
          const key = Buffer.from(`${prefix}${randomBytes(8).toString('hex')}`);
          const r = await floors[p]!.txn({
            compare: [{ key, target: 'CREATE', result: 'EQUAL', createRevision: '0' }],
            success: [{ requestPut: { key, value: Buffer.from(value) } }],
            failure: [],
          });
          if (r.succeeded) return;
        }
      },
      dequeue: (c, signal) => consumers[c]!.dequeue(signal),
    },
    close: () => {
      for (const c of consumers) c.close();
    },
  };
}

export const queue: Scenario = {
  name: 'queue',
  description: `${PRODUCERS} producers and ${CONSUMERS} consumers (a client each): items/s through a Queue (dequeue) and a WorkQueue (claim + ack), and enqueue → received latency`,

  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const counts = ctx.quick ? QUICK : FULL;
    const admin = new GrpcFloor(ctx.endpoints[0]!);
    const clients = Array.from(
      { length: PRODUCERS + CONSUMERS },
      () => new Etcd({ endpoints: ctx.endpoints }),
    );
    const sessions: Session[] = [];
    try {
      const rows: BenchRow[] = [];
      const rounds = `${counts.rounds} rounds of ${counts.items} items, and of ${counts.serial} one at a time`;

      ctx.log(`Queue: ${rounds}`);
      const queues = clients.map((c) => new Queue(c, `${ctx.prefix}queue/`));
      rows.push(
        ...(await runCases(ctx, counts, 'enqueue→dequeue', 'etcdkit', {
          enqueue: async (p, value) => {
            await queues[p]!.enqueue(value);
          },
          dequeue: async (c, signal) => ({ value: await queues[PRODUCERS + c]!.dequeue({ signal }) }),
        })),
      );

      ctx.log(`Queue floor (bare grpc-js): ${rounds}`);
      const floors = Array.from({ length: PRODUCERS + CONSUMERS }, () => new GrpcFloor(ctx.endpoints[0]!));
      try {
        const f = await floorEnds(ctx, floors);
        try {
          rows.push(...(await runCases(ctx, counts, 'enqueue→dequeue', 'grpc-js', f.ends)));
        } finally {
          f.close();
        }
      } finally {
        for (const f of floors) f.close();
      }

      ctx.log(`WorkQueue: ${rounds}`);
      for (const c of clients) sessions.push(await c.session({ ttl: 10 }));
      const work = sessions.map((s) => new WorkQueue(s, `${ctx.prefix}work/`));
      rows.push(
        ...(await runCases(ctx, counts, 'enqueue→claim+ack', 'etcdkit', {
          enqueue: async (p, value) => {
            await work[p]!.enqueue(value);
          },
          dequeue: async (c, signal) => {
            const item = await work[PRODUCERS + c]!.claim({ signal });
            return { value: item.value, finish: () => item.ack() };
          },
        })),
      );
      return rows;
    } finally {
      await Promise.allSettled(sessions.map((s) => s.close()));
      await Promise.allSettled(clients.map((c) => c.close()));
      await admin
        .deletePrefix(ctx.prefix)
        .catch((e: unknown) => ctx.log(`cleanup of ${ctx.prefix} failed: ${e}`));
      admin.close();
    }
  },
};
