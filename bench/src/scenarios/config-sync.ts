/**
 * config-sync: a live copy of a key prefix. How fast a put reaches a mirror() subscriber (against
 * a raw watch, etcdkit's and bare grpc-js's, and the etcd3 getAll + watch pattern), and what the
 * initial sync of a large prefix costs in time and memory.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Mirror, mirror } from '@etcdkit/config-sync';
import { Etcd } from '@etcdkit/core';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { Etcd3, type Watcher as Etcd3Watcher } from 'etcd3';
import { ETCD3_GRPC_OPTIONS, etcd3Hosts } from '../clients.js';
import type { SyncResult } from '../config-sync-child.js';
import { GrpcFloor, prefixEnd, type RawWatchResponse } from '../grpc-floor.js';
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
import { EventGate, gateWatcher } from '../watch-clients.js';

const CHILD = fileURLToPath(new URL('../config-sync-child.js', import.meta.url));

const NOTIFY_IMPLS = ['etcdkit', 'etcdkit watch', 'etcd3', 'grpc-js'] as const;
type NotifyImpl = (typeof NOTIFY_IMPLS)[number];

const VALUE_SIZE = 64;
/** Keys under each live prefix: a configuration of realistic size. */
const LIVE_KEYS = 1000;
const PUTS_PER_TXN = 100;
const DEFAULT_PAGE_SIZE = 1000;
const LARGE_PAGE_SIZE = 10_000;

interface Counts {
  rounds: number;
  /** put → notified round trips per implementation, over all rounds. */
  events: number;
  /** Keys of the initial-sync case. */
  syncKeys: number;
  /** Initial syncs per variant, each in a fresh process. */
  syncRuns: number;
}
const FULL: Counts = { rounds: 5, events: 1000, syncKeys: 100_000, syncRuns: 3 };
const QUICK: Counts = { rounds: 3, events: 150, syncKeys: 20_000, syncRuns: 1 };

/** e.g. 'service-42/key-0012345': 22 characters, a hundred "services". */
function relativeKey(i: number): string {
  return `service-${i % 100}/key-${String(i).padStart(7, '0')}`;
}

/** `n` keys under `prefix` with distinct ~64-byte text values, in transactions of 100 puts, 8 in flight. */
async function load(floor: GrpcFloor, prefix: string, n: number): Promise<void> {
  const txns = Math.ceil(n / PUTS_PER_TXN);
  await warmUp(
    (t) => {
      const success = [];
      for (let i = t * PUTS_PER_TXN; i < Math.min(n, (t + 1) * PUTS_PER_TXN); i++) {
        const value = Buffer.from(randomBytes((VALUE_SIZE * 3) / 4).toString('base64'));
        success.push({ requestPut: { key: Buffer.from(prefix + relativeKey(i)), value } });
      }
      return floor.txn({ compare: [], success, failure: [] });
    },
    txns,
    8,
  );
}

// ---------------------------------------------------------------------------------------------
// put → notified

interface Notified {
  gate: EventGate;
  close(): Promise<void>;
}

/** etcdkit: a mirror() subscriber; every snapshot after the first one counts. */
async function notifyMirror(etcd: Etcd, prefix: string): Promise<Notified> {
  const gate = new EventGate();
  const cfg: Mirror<string> = await mirror(etcd, prefix);
  if (cfg.snapshot().size !== LIVE_KEYS) throw new Error(`mirror has ${cfg.snapshot().size} keys`);
  let first = true;
  const sub = cfg.subscribe({
    next: () => {
      if (first) first = false;
      else gate.event();
    },
    error: (e: unknown) => gate.fail(e as Error),
  });
  return {
    gate,
    close: async () => {
      sub.unsubscribe();
      await cfg.close();
    },
  };
}

/** etcdkit's raw prefix watch: the floor the mirror adds its snapshot to. */
function notifyWatch(etcd: Etcd, prefix: string): Promise<Notified> {
  return gateWatcher(etcd.watch({ prefix }));
}

/** etcd3: getAll().prefix().strings() into a Map, and a prefix watch that keeps it up to date. */
async function notifyEtcd3(client: Etcd3, prefix: string): Promise<Notified> {
  const gate = new EventGate();
  const ns = client.namespace(prefix);
  const map = new Map(Object.entries(await ns.getAll().strings()));
  if (map.size !== LIVE_KEYS) throw new Error(`etcd3 map has ${map.size} keys`);
  const w: Etcd3Watcher = await ns.watch().prefix('').create();
  w.on('put', (kv) => {
    map.set(kv.key.toString(), kv.value.toString());
    gate.event();
  });
  w.on('delete', (kv) => {
    map.delete(kv.key.toString());
    gate.event();
  });
  w.on('error', (e) => gate.fail(e));
  return { gate, close: () => w.cancel() };
}

/** Bare grpc-js: one Watch stream, one prefix watcher; every event counts. */
async function notifyFloor(floor: GrpcFloor, prefix: string): Promise<Notified> {
  const gate = new EventGate();
  const key = Buffer.from(prefix);
  const stream: ClientDuplexStream<object, RawWatchResponse> = floor.watch();
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (r: RawWatchResponse) => {
      if (r.created) resolve();
      for (const _ of r.events) gate.event();
    });
    stream.on('error', (e) => {
      reject(e);
      gate.fail(e);
    });
    stream.write({ createRequest: { key, rangeEnd: prefixEnd(key) } });
  });
  return {
    gate,
    close: async () => {
      stream.removeAllListeners('error');
      stream.on('error', () => {}); // the CANCELLED status that cancel() provokes
      stream.cancel();
    },
  };
}

async function putToNotified(ctx: BenchContext, counts: Counts, writer: GrpcFloor): Promise<BenchRow[]> {
  const livePrefix = (impl: NotifyImpl) => `${ctx.prefix}live/${impl.replace(' ', '-')}/`;
  for (const impl of NOTIFY_IMPLS) await load(writer, livePrefix(impl), LIVE_KEYS);
  // Each on a client (a connection) of its own.
  const kitMirror = new Etcd({ endpoints: ctx.endpoints });
  const kitWatch = new Etcd({ endpoints: ctx.endpoints });
  const e3 = new Etcd3({ hosts: etcd3Hosts(ctx.endpoints), grpcOptions: ETCD3_GRPC_OPTIONS });
  const floor = new GrpcFloor(ctx.endpoints[0]!);
  const subs: Partial<Record<NotifyImpl, Notified>> = {};
  try {
    subs.etcdkit = await notifyMirror(kitMirror, livePrefix('etcdkit'));
    subs['etcdkit watch'] = await notifyWatch(kitWatch, livePrefix('etcdkit watch'));
    subs.etcd3 = await notifyEtcd3(e3, livePrefix('etcd3'));
    subs['grpc-js'] = await notifyFloor(floor, livePrefix('grpc-js'));
    const op = (impl: NotifyImpl) => {
      const sub = subs[impl]!;
      const prefix = livePrefix(impl);
      return async (i: number) => {
        // A new value every time: a put that leaves a value as it was is no change to a mirror.
        const value = Buffer.from(`value ${i} `.padEnd(VALUE_SIZE, '.'));
        const notified = sub.gate.next();
        await writer.put({ key: Buffer.from(prefix + relativeKey(i % LIVE_KEYS)), value });
        await notified;
      };
    };
    for (const impl of NOTIFY_IMPLS) await warmUp(op(impl), 100, 1);
    const perRound = split(counts.events, counts.rounds);
    const results = await interleave(NOTIFY_IMPLS, counts.rounds, (impl, r) =>
      measure(op(impl), {
        concurrency: 1,
        ops: perRound[r]!,
        offset: 100 + r * counts.events,
        signal: ctx.signal,
      }),
    );
    return NOTIFY_IMPLS.flatMap((impl) =>
      summarize(configSync.name, 'put→notified serial', impl, results.get(impl)!, ['p50', 'p99', 'cpu/op']),
    );
  } finally {
    await Promise.allSettled(NOTIFY_IMPLS.map((impl) => subs[impl]?.close()));
    await Promise.allSettled([kitMirror.close(), kitWatch.close()]);
    e3.close();
    floor.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Initial sync

const SYNC_VARIANTS = [
  { name: 'etcdkit', impl: 'etcdkit', pageSize: DEFAULT_PAGE_SIZE },
  { name: 'etcdkit pages of 10000', impl: 'etcdkit', pageSize: LARGE_PAGE_SIZE },
  { name: 'etcd3', impl: 'etcd3', pageSize: 0 },
] as const;
type SyncVariant = (typeof SYNC_VARIANTS)[number]['name'];

async function initialSync(ctx: BenchContext, counts: Counts, writer: GrpcFloor): Promise<BenchRow[]> {
  const n = counts.syncKeys;
  const prefix = `${ctx.prefix}sync/`;
  ctx.log(`loading ${n} keys`);
  await load(writer, prefix, n);
  const runs = new Map<SyncVariant, SyncResult[]>(SYNC_VARIANTS.map((v) => [v.name, []]));
  for (let r = 0; r < counts.syncRuns; r++) {
    for (const v of rotate(SYNC_VARIANTS, r)) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [CHILD, v.impl, String(v.pageSize), String(n), prefix, ...ctx.endpoints],
        { signal: ctx.signal, timeout: 120_000 },
      );
      runs.get(v.name)!.push(JSON.parse(stdout) as SyncResult);
    }
  }
  const rows = (caseName: string, variant: SyncVariant, impl: string, note?: string): BenchRow[] => {
    const m = runs.get(variant)!;
    const base = {
      scenario: configSync.name,
      case: caseName,
      impl,
      samples: m.length,
      ...(note ? { note } : {}),
    };
    return [
      { ...base, metric: 'sync', value: median(m.map((x) => x.syncMs)), unit: 'ms', better: 'lower' },
      {
        ...base,
        metric: 'memory/key',
        value: median(m.map((x) => x.bytesPerKey)),
        unit: 'B',
        better: 'lower',
      },
    ];
  };
  // etcd3 reads everything in one response: the same runs stand in both cases.
  const one = `sync ${n} keys`;
  const large = `sync ${n} keys, pages of ${LARGE_PAGE_SIZE}`;
  const single = 'etcd3 reads the prefix in one response; the same runs as the other case';
  return [
    ...rows(one, 'etcdkit', 'etcdkit'),
    ...rows(one, 'etcd3', 'etcd3'),
    ...rows(large, 'etcdkit pages of 10000', 'etcdkit'),
    ...rows(large, 'etcd3', 'etcd3', single),
  ];
}

export const configSync: Scenario = {
  name: 'config-sync',
  description:
    'a live copy of a prefix: put → subscriber notified (mirror() vs raw watches vs etcd3 getAll + watch), and the initial sync of a large prefix (time, memory per key)',
  targets: [
    {
      case: 'put→notified serial',
      metric: 'p50',
      against: 'grpc-js',
      tolerance: 0.2,
      label: 'put→notified p50 within 1.2× of a raw watch (bare grpc-js)',
    },
  ],

  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const counts = ctx.quick ? QUICK : FULL;
    const writer = new GrpcFloor(ctx.endpoints[0]!);
    try {
      ctx.log(`put→notified serial: ${counts.events} events per implementation in ${counts.rounds} rounds`);
      const rows = await putToNotified(ctx, counts, writer);
      ctx.log(`sync ${counts.syncKeys} keys: ${counts.syncRuns} run(s) per variant, each in a fresh process`);
      rows.push(...(await initialSync(ctx, counts, writer)));
      return rows;
    } finally {
      await writer
        .deletePrefix(ctx.prefix)
        .catch((e: unknown) => ctx.log(`cleanup of ${ctx.prefix} failed: ${e}`));
      writer.close();
    }
  },
};
