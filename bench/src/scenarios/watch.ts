/**
 * watch: how fast a put reaches a watcher, and what 1 000 watchers on one client cost, for
 * etcdkit, the etcd3 npm client and a bare grpc-js Watch stream.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GrpcFloor } from '../grpc-floor.js';
import {
  type BenchContext,
  type BenchRow,
  interleave,
  measure,
  median,
  rotate,
  type Scenario,
  split,
  summarize,
  warmUp,
} from '../harness.js';
import {
  type OneWatch,
  serverGauge,
  WATCH_CLIENTS,
  WATCH_IMPLS,
  type WatchClient,
  type WatchImpl,
} from '../watch-clients.js';
import type { ManyResult } from '../watch-many-child.js';

const VALUE_SIZE = 256;
const CHILD = fileURLToPath(new URL('../watch-many-child.js', import.meta.url));

interface Counts {
  rounds: number;
  /** put → event round trips per implementation, over all rounds. */
  events: number;
  /** Watchers opened at once on one client. */
  watchers: number;
  /** Runs of the many-watchers case per implementation (each in a fresh process). */
  manyRuns: number;
}
const FULL: Counts = { rounds: 5, events: 1000, watchers: 1000, manyRuns: 3 };
const QUICK: Counts = { rounds: 3, events: 150, watchers: 1000, manyRuns: 1 };

/** put → event, serial: one writer on its own connection puts; the clock stops when the watcher has the event. */
async function eventLatency(ctx: BenchContext, counts: Counts, writer: GrpcFloor): Promise<BenchRow[]> {
  const value = randomBytes(VALUE_SIZE);
  const clients = Object.fromEntries(WATCH_IMPLS.map((i) => [i, WATCH_CLIENTS[i](ctx.endpoints)])) as Record<
    WatchImpl,
    WatchClient
  >;
  try {
    const watches = {} as Record<WatchImpl, OneWatch>;
    for (const impl of WATCH_IMPLS) watches[impl] = await clients[impl].watchKey(`${ctx.prefix}${impl}/one`);
    const op = (impl: WatchImpl) => {
      const key = Buffer.from(`${ctx.prefix}${impl}/one`);
      return async () => {
        const event = watches[impl].gate.next();
        await writer.put({ key, value });
        await event;
      };
    };
    for (const impl of WATCH_IMPLS) await warmUp(op(impl), 100, 1);
    const perRound = split(counts.events, counts.rounds);
    const results = await interleave(WATCH_IMPLS, counts.rounds, (impl, r) =>
      measure(op(impl), { concurrency: 1, ops: perRound[r]!, signal: ctx.signal }),
    );
    for (const impl of WATCH_IMPLS) await watches[impl].close();
    return WATCH_IMPLS.flatMap((impl) =>
      summarize(watch.name, 'put→event serial', impl, results.get(impl)!, ['p50', 'p99', 'cpu/op']),
    );
  } finally {
    await Promise.allSettled(WATCH_IMPLS.map((i) => clients[i].close()));
  }
}

/** n watchers on one client, each run in a fresh process (see watch-many-child.ts). */
async function manyWatchers(ctx: BenchContext, counts: Counts): Promise<BenchRow[]> {
  const n = counts.watchers;
  const endpoint = ctx.endpoints[0]!;
  const gauges = async () => ({
    streams: await serverGauge(endpoint, 'etcd_debugging_mvcc_watch_stream_total'),
    watchers: await serverGauge(endpoint, 'etcd_debugging_mvcc_watcher_total'),
  });
  const baseline = await gauges();
  const runs = new Map<WatchImpl, ManyResult[]>(WATCH_IMPLS.map((i) => [i, []]));
  for (let r = 0; r < counts.manyRuns; r++) {
    for (const impl of rotate(WATCH_IMPLS, r)) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      // The previous run's stream and watchers may still be winding down on the server.
      for (let i = 0; i < 100; i++) {
        const g = await gauges();
        if (!(g.streams > baseline.streams || g.watchers > baseline.watchers)) break;
        await sleep(20);
      }
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [CHILD, impl, String(n), ctx.prefix, ...ctx.endpoints],
        { signal: ctx.signal, timeout: 120_000 },
      );
      runs.get(impl)!.push(JSON.parse(stdout) as ManyResult);
    }
  }
  const label = `${n} watchers`;
  return WATCH_IMPLS.flatMap((impl): BenchRow[] => {
    const m = runs.get(impl)!;
    const base = { scenario: watch.name, case: label, impl, samples: m.length };
    return [
      { ...base, metric: 'open all', value: median(m.map((x) => x.openMs)), unit: 'ms', better: 'lower' },
      {
        ...base,
        metric: 'memory/watcher',
        value: median(m.map((x) => x.bytesPerWatcher)) / 1024,
        unit: 'KiB',
        better: 'lower',
      },
      {
        ...base,
        metric: 'server streams',
        value: median(m.map((x) => x.streams)),
        unit: '',
        better: 'lower',
      },
      {
        ...base,
        metric: 'server watchers',
        value: median(m.map((x) => x.watchers)),
        unit: '',
        better: 'lower',
        note: `sanity check: ${2 * n + 1} expected`,
      },
    ];
  });
}

export const watch: Scenario = {
  name: 'watch',
  description:
    'put → event latency on one watcher (puts by a separate client), and 1 000 watchers on one client (memory, streams)',
  targets: [
    {
      case: 'put→event serial',
      metric: 'p50',
      against: 'grpc-js',
      tolerance: 0.1,
      label: 'put→event p50 within 10% of bare grpc-js',
    },
    {
      case: 'put→event serial',
      metric: 'p50',
      against: 'etcd3',
      tolerance: 0,
      label: 'put→event p50 not above etcd3',
    },
  ],

  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const counts = ctx.quick ? QUICK : FULL;
    const writer = new GrpcFloor(ctx.endpoints[0]!);
    try {
      ctx.log(`put→event serial: ${counts.events} events per implementation in ${counts.rounds} rounds`);
      const rows = await eventLatency(ctx, counts, writer);
      ctx.log(
        `${counts.watchers} watchers: ${counts.manyRuns} run(s) per implementation, each in a fresh process`,
      );
      rows.push(...(await manyWatchers(ctx, counts)));
      return rows;
    } finally {
      await writer
        .deletePrefix(ctx.prefix)
        .catch((e: unknown) => ctx.log(`cleanup of ${ctx.prefix} failed: ${e}`));
      writer.close();
    }
  },
};
