/**
 * discovery: how long from `register()` on one client until `discover()` on another client lists
 * the new instance. One instance at a time: the clock starts at the register call (which grants
 * the session's lease and writes the key) and stops at the watcher's `up` event for it; the
 * registration is then closed and its `down` awaited before the next one, so every sample starts
 * from the same list.
 *
 * Only an etcdkit column: the etcd3 npm client has no registry (one would write it from a lease,
 * a put and a prefix watch).
 */
import { performance } from 'node:perf_hooks';
import { Etcd } from '@etcdkit/core';
import { type Discovery, discover, type Instance, register } from '@etcdkit/discovery';
import { GrpcFloor } from '../grpc-floor.js';
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

interface Counts {
  rounds: number;
  samples: number;
}
const FULL: Counts = { rounds: 5, samples: 100 };
const QUICK: Counts = { rounds: 3, samples: 20 };
const TTL = 10;

/** Resolves when `svc` emits `event` for the instance `id`; rejects when `signal` aborts. */
function seen(svc: Discovery, event: 'up' | 'down', id: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const on = (inst: Instance) => {
      if (inst.id !== id) return;
      cleanup();
      resolve();
    };
    const abort = () => {
      cleanup();
      reject(signal.reason ?? new Error('aborted'));
    };
    const cleanup = () => {
      svc.off(event, on);
      signal.removeEventListener('abort', abort);
    };
    if (signal.aborted) return abort();
    svc.on(event, on);
    signal.addEventListener('abort', abort, { once: true });
  });
}

async function round(
  writer: Etcd,
  svc: Discovery,
  service: string,
  first: number,
  samples: number,
  signal: AbortSignal,
): Promise<Measurement> {
  const latencies: number[] = [];
  let window = 0;
  collectGarbage();
  const cpu0 = cpuMicros();
  for (let i = first; i < first + samples; i++) {
    const id = `instance-${i}`;
    const up = seen(svc, 'up', id, signal);
    const t0 = performance.now();
    const reg = await register(writer, { service, id, address: `10.0.0.1:${8000 + (i % 1000)}`, ttl: TTL });
    try {
      await up;
      const ms = performance.now() - t0;
      latencies.push(ms);
      window += ms;
    } finally {
      const down = seen(svc, 'down', id, signal);
      await reg.close();
      await down;
    }
  }
  const cpu = cpuMicros() - cpu0;
  // Throughput is not reported: the window is the sum of the measured intervals only.
  return measurement(latencies, window, cpu, samples);
}

export const discovery: Scenario = {
  name: 'discovery',
  description:
    'register() on one client → the instance listed by discover() on another client, one instance at a time',

  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const counts = ctx.quick ? QUICK : FULL;
    const admin = new GrpcFloor(ctx.endpoints[0]!);
    const writer = new Etcd({ endpoints: ctx.endpoints });
    const reader = new Etcd({ endpoints: ctx.endpoints });
    let svc: Discovery | undefined;
    try {
      const service = `${ctx.prefix}svc`;
      svc = await discover(reader, service, { signal: ctx.signal });
      await round(writer, svc, service, 0, 10, ctx.signal); // warm-up
      ctx.log(`register→visible: ${counts.rounds} rounds of ${counts.samples}`);
      const results: Measurement[] = [];
      for (let r = 0; r < counts.rounds; r++)
        results.push(await round(writer, svc, service, (r + 1) * 1000, counts.samples, ctx.signal));
      return summarize(discovery.name, 'register→visible serial', 'etcdkit', results, ['p50', 'p99']);
    } finally {
      await svc?.close();
      await Promise.allSettled([writer.close(), reader.close()]);
      await admin
        .deletePrefix(ctx.prefix)
        .catch((e: unknown) => ctx.log(`cleanup of ${ctx.prefix} failed: ${e}`));
      admin.close();
    }
  },
};
