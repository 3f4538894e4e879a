/**
 * The helpers every etcdkit test file shares, for vitest: {@link useEtcd} / {@link useCluster}
 * (one etcd per test file), {@link uniqueName} / {@link uniquePrefix}, {@link until} and its
 * relatives (wait for a condition with a deadline, never a sleep), and child processes that cannot
 * outlive the test ({@link spawnTs}, {@link spawnProcess}).
 *
 * @module @etcdkit/testkit/vitest
 */

// @etcdkit/testkit/vitest: the helpers every etcdkit test file shares. One etcd (or one cluster)
// per test file, started in beforeAll and stopped in afterAll; names unique per test; waits on
// conditions with a deadline; child processes that cannot outlive the test.

import { readFileSync } from 'node:fs';
import { Etcd, type EtcdOptions, type Session } from '@etcdkit/core';
import { afterAll, beforeAll } from 'vitest';
import { killChildren } from './child-process.js';
import { TestkitError } from './errors.js';
import { type EtcdCluster, type StartClusterOptions, startCluster } from './etcd-cluster.js';
import { type EtcdServer, type StartEtcdOptions, startEtcd } from './etcd-server.js';

export type {
  ChildResult,
  SpawnedProcess,
  SpawnOptions,
  SpawnTsOptions,
  WaitOptions,
} from './child-process.js';
export { killChildren, spawnProcess, spawnTs, TYPESCRIPT_LOADER } from './child-process.js';

/**
 * The transport the clients of this test run use: the suite runs some files twice, once per
 * transport (vitest.config.ts), with ETCDKIT_TRANSPORT, which is also the clients' default.
 */
export function testTransport(): 'grpc' | 'gateway' {
  return process.env.ETCDKIT_TRANSPORT === 'gateway' ? 'gateway' : 'grpc';
}

/** What useEtcd() and useCluster() give a test file; read it inside tests and hooks. */
export interface EtcdFixture {
  /** The client endpoints. */
  readonly endpoints: string[];
  /** One client shared by the file, made on first use. */
  readonly etcd: Etcd;
  /** A new client (options over the fixture's `client` options). */
  client(options?: EtcdOptions): Etcd;
  /** A new session (default ttl 10 s) on a new client. */
  session(ttl?: number, options?: EtcdOptions): Promise<Session>;
  /** Runs `close` in afterAll, before the clients close and etcd stops. */
  defer(close: () => unknown): void;
}

export interface ServerFixture extends EtcdFixture {
  /** The etcd server of this test file. */
  readonly server: EtcdServer;
}

export interface ClusterFixture extends EtcdFixture {
  /** The etcd cluster of this test file. */
  readonly cluster: EtcdCluster;
}

/** Options of {@link useEtcd}: how to start the server, and options for its clients. */
export interface UseEtcdOptions extends StartEtcdOptions {
  /** Options for every client the fixture makes. */
  client?: EtcdOptions;
}

/** Options of {@link useCluster}: how to start the cluster, and options for its clients. */
export interface UseClusterOptions extends StartClusterOptions {
  /** Options for every client the fixture makes. */
  client?: EtcdOptions;
}

function fixture<T extends { endpoints: string[]; close(): Promise<void> }>(
  what: string,
  start: () => Promise<T>,
  clientOptions: EtcdOptions = {},
) {
  let started: T | undefined;
  let shared: Etcd | undefined;
  const clients: Etcd[] = [];
  const deferred: (() => unknown)[] = [];
  const get = (): T => {
    if (!started) throw new TestkitError(`${what}: not started yet; use the fixture inside a test or a hook`);
    return started;
  };
  const client = (options: EtcdOptions = {}): Etcd => {
    const c = new Etcd({ endpoints: get().endpoints, ...clientOptions, ...options });
    clients.push(c);
    return c;
  };
  const base: EtcdFixture = {
    get endpoints() {
      return get().endpoints;
    },
    get etcd() {
      shared ??= client();
      return shared;
    },
    client,
    async session(ttl = 10, options = {}) {
      return client(options).session({ ttl });
    },
    defer(close) {
      deferred.push(close);
    },
  };
  beforeAll(async () => {
    started = await start();
  });
  afterAll(async () => {
    // Child processes first: they may hold sessions on this etcd.
    await killChildren();
    const errors: unknown[] = [];
    for (const close of deferred.reverse()) {
      try {
        await close();
      } catch (err) {
        errors.push(err);
      }
    }
    await Promise.allSettled(clients.map((c) => c.close()));
    await started?.close();
    if (errors.length)
      throw new TestkitError(`${what}: a deferred cleanup failed`, { cause: new AggregateError(errors) });
  });
  return { base, get };
}

/**
 * One etcd server for the test file: started in beforeAll (options as startEtcd's), stopped with
 * every client the fixture made in afterAll.
 */
export function useEtcd(options: UseEtcdOptions = {}): ServerFixture {
  const { client, ...startOptions } = options;
  const { base, get } = fixture('useEtcd()', () => startEtcd(startOptions), client);
  return Object.defineProperty(base, 'server', { get, enumerable: true }) as ServerFixture;
}

/** A cluster (3 members unless told) for the test file, like useEtcd(). */
export function useCluster(options: UseClusterOptions = {}): ClusterFixture {
  const { client, ...startOptions } = options;
  const { base, get } = fixture('useCluster()', () => startCluster(startOptions), client);
  return Object.defineProperty(base, 'cluster', { get, enumerable: true }) as ClusterFixture;
}

let counter = 0;
/** A name no other test of this run uses: `${prefix}-${pid}-${n}`. */
export function uniqueName(prefix = 'test'): string {
  return `${prefix}-${process.pid}-${++counter}`;
}

/** A key prefix no other test of this run uses: uniqueName(prefix) + '/'. */
export function uniquePrefix(prefix = 'test'): string {
  return `${uniqueName(prefix)}/`;
}

/** Options of {@link until} and its relatives. */
export interface UntilOptions {
  /** What is awaited, for the error on timeout. */
  what: string;
  /** Default 20 s. */
  timeoutMs?: number;
  /** Pause between checks (default 20 ms). */
  intervalMs?: number;
}

/**
 * Checks `cond` until it returns something other than undefined, null or false, and resolves with
 * that value; fails after `timeoutMs` naming `what`. For state that offers nothing to watch.
 */
export async function until<T>(
  cond: () => T | Promise<T>,
  { what, timeoutMs = 20_000, intervalMs = 20 }: UntilOptions,
): Promise<Exclude<T, undefined | null | false>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v !== undefined && v !== null && v !== false) return v as Exclude<T, undefined | null | false>;
    if (Date.now() > deadline) throw new TestkitError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Resolves once every watch event etcd has sent `watching` so far has arrived: it watches `key`
 * on the client's shared stream, `writer` (default the same client) writes it, and the event of
 * that write comes after all earlier ones. For asserting that something did NOT happen on an event.
 */
export async function caughtUp(watching: Etcd, key: string, writer: Etcd = watching): Promise<void> {
  const w = watching.watch({ key });
  await w.ready;
  await writer.put(key, 'x');
  for await (const ev of w) if (ev.type === 'put') break;
}

/** The keys under `prefix`, oldest (lowest create revision) first. */
export async function listKeys(etcd: Etcd, prefix: string): Promise<string[]> {
  const r = await etcd.range({ prefix, keysOnly: true, sort: { target: 'create', order: 'ascend' } });
  return r.kvs.map((kv) => kv.key.toString());
}

/**
 * Resolves with the keys under `prefix` (oldest first) once `count` of them exist, or once
 * `accept(keys)` holds. Reads, then follows a watch from the revision read: no polling.
 */
export async function untilKeys(
  etcd: Etcd,
  prefix: string,
  accept: number | ((keys: string[]) => boolean),
): Promise<string[]> {
  const ok = typeof accept === 'number' ? (keys: string[]) => keys.length >= accept : accept;
  for (;;) {
    const r = await etcd.range({ prefix, keysOnly: true, sort: { target: 'create', order: 'ascend' } });
    const keys = r.kvs.map((kv) => kv.key.toString());
    if (ok(keys)) return keys;
    const w = etcd.watch({ prefix, startRevision: r.revision + 1n });
    try {
      for await (const _ of w) break;
    } finally {
      w.close();
    }
  }
}

/** Resolves once `key` exists (a read, then a watch). */
export async function untilExists(etcd: Etcd, key: string): Promise<void> {
  const r = await etcd.range({ key });
  if (r.kvs.length) return;
  const w = etcd.watch({ key, startRevision: r.revision + 1n, filters: { noDelete: true } });
  try {
    for await (const _ of w) return;
  } finally {
    w.close();
  }
}

/** Resolves once `key` does not exist (a read, then a watch). */
export async function untilGone(etcd: Etcd, key: string): Promise<void> {
  const r = await etcd.range({ key });
  if (!r.kvs.length) return;
  const w = etcd.watch({ key, startRevision: r.revision + 1n, filters: { noPut: true } });
  try {
    for await (const _ of w) return;
  } finally {
    w.close();
  }
}

/** A promise with its resolve and reject, as {@link deferred} returns it. */
export interface Deferred<T> {
  /** The promise. */
  promise: Promise<T>;
  /** Resolve the promise with `value`. */
  resolve(value: T): void;
  /** Reject the promise with `reason`. */
  reject(reason: unknown): void;
}

/** A promise with its resolve and reject. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Follows whether `p` has settled, without awaiting it; its rejection counts as handled (the
 * test awaits `promise` to see it).
 */
export function track<T>(p: Promise<T>): {
  /** True once `p` has resolved or rejected. */
  settled(): boolean;
  /** `p`, to await for its outcome. */
  promise: Promise<T>;
} {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  return { settled: () => done, promise: p };
}

/**
 * Marks a promise that is expected to reject later as handled now, so its rejection is not
 * reported as unhandled before the test awaits `expect(p).rejects`.
 */
export function expectedToSettle<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/**
 * Whether `p` is still pending after `ms` (default 200). A `true` says only "not yet": use it to
 * check that something waits, never that it finished in time.
 */
export async function isPending(p: Promise<unknown>, ms = 200): Promise<boolean> {
  const marker = Symbol('pending');
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    p.then(
      () => 'settled',
      () => 'settled',
    ),
    new Promise((res) => {
      timer = setTimeout(() => res(marker), ms);
    }),
  ]);
  clearTimeout(timer);
  return r === marker;
}

/** True while `pid` is a live process (a zombie awaiting its reaper counts as dead). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no procfs (macOS): signal 0 succeeded
  }
}
