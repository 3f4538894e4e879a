/**
 * One initial sync of a large prefix in a process of its own, so that the heap figure holds
 * nothing but the synced copy: `node config-sync-child.js <etcdkit|etcd3> <pageSize> <keys> <prefix> <endpoints...>`.
 * Prints one JSON line: { syncMs, bytesPerKey, keys }.
 */
import { mirror } from '@etcdkit/config-sync';
import { Etcd } from '@etcdkit/core';
import { Etcd3 } from 'etcd3';
import { ETCD3_GRPC_OPTIONS, etcd3Hosts } from './clients.js';
import { now, nsToMs, settledHeap } from './harness.js';

export type SyncImpl = 'etcdkit' | 'etcd3';

export interface SyncResult {
  /** From the first request until the copy is complete and its watch confirmed. */
  syncMs: number;
  /** Heap + external memory of the synced copy (and its watch), per key, after settled garbage collection. */
  bytesPerKey: number;
  /** Keys in the copy (checked against the expected count). */
  keys: number;
}

/**
 * etcd3 reads the whole prefix in one response, larger than grpc-js accepts by default (4 MiB):
 * a user of 100 000 keys has to raise the limit like this.
 */
const ETCD3_LARGE_READS = { ...ETCD3_GRPC_OPTIONS, 'grpc.max_receive_message_length': -1 };

async function syncEtcdkit(
  endpoints: string[],
  prefix: string,
  pageSize: number,
  expected: number,
): Promise<SyncResult> {
  const etcd = new Etcd({ endpoints });
  try {
    // Connected, and the count checked, before the baseline.
    const { count } = await etcd.range({ prefix, countOnly: true });
    if (count !== expected) throw new Error(`expected ${expected} keys under ${prefix}, found ${count}`);
    const heap0 = await settledHeap();
    const t0 = now();
    const cfg = await mirror(etcd, prefix, { pageSize });
    const syncMs = nsToMs(now() - t0);
    try {
      const keys = cfg.snapshot().size;
      const heap1 = await settledHeap();
      return { syncMs, bytesPerKey: (heap1 - heap0) / keys, keys };
    } finally {
      await cfg.close();
    }
  } finally {
    await etcd.close();
  }
}

/** What people write with etcd3: getAll().prefix().strings() into a Map, then a prefix watch that updates it. */
async function syncEtcd3(endpoints: string[], prefix: string, expected: number): Promise<SyncResult> {
  const client = new Etcd3({ hosts: etcd3Hosts(endpoints), grpcOptions: ETCD3_LARGE_READS });
  try {
    const ns = client.namespace(prefix);
    const count = await ns.getAll().count();
    if (count !== expected) throw new Error(`expected ${expected} keys under ${prefix}, found ${count}`);
    const heap0 = await settledHeap();
    const t0 = now();
    const map = new Map(Object.entries(await ns.getAll().strings()));
    const watcher = await ns.watch().prefix('').create();
    watcher.on('put', (kv) => map.set(kv.key.toString(), kv.value.toString()));
    watcher.on('delete', (kv) => map.delete(kv.key.toString()));
    const syncMs = nsToMs(now() - t0);
    try {
      const heap1 = await settledHeap();
      return { syncMs, bytesPerKey: (heap1 - heap0) / map.size, keys: map.size };
    } finally {
      await watcher.cancel();
    }
  } finally {
    client.close();
  }
}

async function main(): Promise<void> {
  const [impl, pageSizeArg, keysArg, prefix, ...endpoints] = process.argv.slice(2);
  const pageSize = Number(pageSizeArg);
  const expected = Number(keysArg);
  if (
    (impl !== 'etcdkit' && impl !== 'etcd3') ||
    !Number.isSafeInteger(pageSize) ||
    !Number.isSafeInteger(expected) ||
    !prefix ||
    endpoints.length === 0
  )
    throw new Error('usage: config-sync-child.js <etcdkit|etcd3> <pageSize> <keys> <prefix> <endpoint...>');
  const result =
    impl === 'etcdkit'
      ? await syncEtcdkit(endpoints, prefix, pageSize, expected)
      : await syncEtcd3(endpoints, prefix, expected);
  if (result.keys !== expected) throw new Error(`${impl} synced ${result.keys} keys, expected ${expected}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
