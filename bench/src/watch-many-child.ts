/**
 * One many-watchers measurement in a process of its own, so that no other client's leftovers
 * are collected inside the measured window: `node watch-many-child.js <impl> <n> <prefix> <endpoints...>`.
 * Prints one JSON line: { openMs, bytesPerWatcher, streams, watchers }.
 */
import { now, nsToMs, settledHeap } from './harness.js';
import { serverGauge, WATCH_CLIENTS, type WatchImpl } from './watch-clients.js';

export interface ManyResult {
  /** Time to open `n` watchers at once (after one first watcher brought the stream up). */
  openMs: number;
  /** Heap + external memory per watcher, over a second batch of `n`. */
  bytesPerWatcher: number;
  /** Server-side watch streams and watchers this process added (2n + 1 watchers expected). */
  streams: number;
  watchers: number;
}

async function main(): Promise<void> {
  const [impl, count, prefix, ...endpoints] = process.argv.slice(2);
  const factory = WATCH_CLIENTS[impl as WatchImpl];
  const n = Number(count);
  if (!factory || !Number.isSafeInteger(n) || !prefix || endpoints.length === 0)
    throw new Error('usage: watch-many-child.js <etcdkit|etcd3|grpc-js> <n> <prefix> <endpoint...>');
  const gauges = async () => ({
    streams: await serverGauge(endpoints[0]!, 'etcd_debugging_mvcc_watch_stream_total'),
    watchers: await serverGauge(endpoints[0]!, 'etcd_debugging_mvcc_watcher_total'),
  });
  const keys = Array.from({ length: 2 * n }, (_, i) => `${prefix}${impl}/many/${i}`);
  const before = await gauges();
  const client = factory(endpoints);
  try {
    // One watcher first, so the connection and the stream are up and not counted per watcher.
    const first = await client.watchKey(`${prefix}${impl}/many/first`);
    const t0 = now();
    const closeA = await client.watchMany(keys.slice(0, n));
    const openMs = nsToMs(now() - t0);
    // Memory over a second batch: the first one's window also holds one-off allocations.
    const heap0 = await settledHeap();
    const closeB = await client.watchMany(keys.slice(n));
    const heap1 = await settledHeap();
    const after = await gauges();
    const result: ManyResult = {
      openMs,
      bytesPerWatcher: (heap1 - heap0) / n,
      streams: after.streams - before.streams,
      watchers: after.watchers - before.watchers,
    };
    await closeA();
    await closeB();
    await first.close();
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await client.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
