/**
 * Workload clients that run in their own process, each with its own Etcd client, so that a fault
 * can stop one with SIGSTOP past its session TTL (a GC pause, a frozen VM) and continue it.
 * Parent side: ClientProcess. Child side: runClient().
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Etcd, Session } from '@etcdkit/core';
import type { PausableClient } from '../faults.js';

/** What a client process is told (through the environment). */
export interface ClientConfig {
  name: string;
  seed: number;
  endpoints: string[];
  /** The broken variant: writes without their ownership guard. */
  unfenced: boolean;
}

/** Counters a client reports when it stops. */
export type ClientStats = Record<string, number>;

type ToParent = { type: 'stats'; stats: ClientStats } | { type: 'busy'; on: boolean };

const CONFIG_ENV = 'ETCDKIT_ROBUSTNESS_CLIENT';
/** Clients still running: killed when this process exits, even a stopped (SIGSTOP) one. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
const STOP_TIMEOUT_MS = 20_000;

export class ClientProcess implements PausableClient {
  readonly name: string;
  private readonly child: ChildProcess;
  private readonly exited: Promise<unknown>;
  private stats: ClientStats | undefined;
  private paused = false;
  private inSection = false;

  constructor(script: URL, config: ClientConfig) {
    this.name = config.name;
    this.child = fork(fileURLToPath(script), [], {
      env: { ...process.env, [CONFIG_ENV]: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    running.add(this.child);
    this.exited = once(this.child, 'exit').finally(() => running.delete(this.child));
    this.child.on('message', (m: ToParent) => {
      if (m.type === 'stats') this.stats = m.stats;
      else if (m.type === 'busy') this.inSection = m.on;
    });
  }

  /** Inside a critical section or a term, as last reported. */
  get busy(): boolean {
    return this.inSection;
  }

  pause(): void {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.child.kill('SIGCONT');
    this.paused = false;
  }

  /** Ask the client to stop; resolves with its counters (or throws if it does not stop in time). */
  async stop(): Promise<ClientStats> {
    this.resume();
    if (this.child.connected) this.child.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
    if (!this.stats)
      throw new Error(`client ${this.name} exited without its counters (exit ${this.child.exitCode})`);
    return this.stats;
  }
}

/** Child side: run `work` until the parent says stop, then report the counters and exit. */
export function runClient(
  work: (config: ClientConfig, signal: AbortSignal, stats: ClientStats) => Promise<void>,
): void {
  const raw = process.env[CONFIG_ENV];
  if (!raw) throw new Error(`${CONFIG_ENV} is not set: this file is started by the robustness suite`);
  const config = JSON.parse(raw) as ClientConfig;
  clientName = config.name;
  const stop = new AbortController();
  const stats: ClientStats = {};
  process.on('message', (m: { type: string }) => {
    if (m.type === 'stop') stop.abort();
  });
  // The parent going away stops the client too.
  process.on('disconnect', () => stop.abort());
  work(config, stop.signal, stats)
    .catch((err: unknown) => {
      console.error(`client ${config.name} failed:`, err);
      process.exitCode = 1;
    })
    .finally(() => {
      if (process.connected)
        process.send?.({ type: 'stats', stats } satisfies ToParent, () => process.disconnect());
    });
}

/** Child side: tell the parent a critical section or term begins or ends (faults prefer busy clients). */
export function reportBusy(on: boolean): void {
  process.send?.({ type: 'busy', on } satisfies ToParent);
}

let clientName = 'client';

/** Errors the faults explain (a member or connection gone, a lease lost, a lock taken away). */
const EXPECTED = new Set([
  'DeadlineExceededError',
  'DialTimeoutError',
  'UnavailableError',
  'SessionExpiredError',
  'LeaseExpiredError',
  'LeaseNotFoundError',
  'LockReleasedError',
  'LockTimeoutError',
  'NotLeaderError',
  'AbortError',
]);

/** Count an error by its class name (the clients meet many on purpose); print the unexpected ones. */
export function countError(stats: ClientStats, err: unknown): void {
  const name = err instanceof Error ? err.name : 'non-error';
  stats[`error:${name}`] = (stats[`error:${name}`] ?? 0) + 1;
  if (!EXPECTED.has(name))
    console.error(`${clientName}: unexpected ${name}: ${err instanceof Error ? err.message : String(err)}`);
}

export function bump(stats: ClientStats, key: string): void {
  stats[key] = (stats[key] ?? 0) + 1;
}

/**
 * The loop a by-hand client runs: keep a session (a new one, and a new primitive on it, once it
 * expired), run one round on it, count an error and pause briefly, until the client is stopped.
 * `cleanup` undoes what a round may have left (a resign) before the session closes.
 */
export async function roundsOnSession<T>(
  etcd: Etcd,
  signal: AbortSignal,
  stats: ClientStats,
  make: (session: Session) => T,
  round: (primitive: T, session: Session) => Promise<void>,
  cleanup?: (primitive: T) => Promise<unknown>,
): Promise<void> {
  let session: Session | undefined;
  let primitive: T | undefined;
  try {
    while (!signal.aborted) {
      try {
        if (!session || session.expired) {
          void session?.close().catch(() => {});
          session = await etcd.session({ ttl: 2, signal });
          primitive = make(session);
        }
        await round(primitive as T, session);
      } catch (err) {
        if (signal.aborted) break;
        countError(stats, err);
        await sleep(100);
      }
    }
  } finally {
    if (primitive !== undefined) await cleanup?.(primitive).catch(() => {});
    await session?.close().catch(() => {});
  }
}
