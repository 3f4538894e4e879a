import {
  AbortError,
  ClientClosedError,
  CompactedError,
  type Etcd,
  type KeyValue,
  type WatchEvent,
} from '@etcdkit/core';
import { Backoff, sleep } from '@etcdkit/core/internal';

/** One revision's changes as the keyspace applied them. */
export interface KeyspaceBatch {
  revision: bigint;
  events: WatchEvent[];
}

export interface KeyspaceListener {
  /** The whole content was (re)read: at start, and after a compaction made the watch skip. */
  reset(revision: bigint): void;
  batch(batch: KeyspaceBatch): void;
  /** The watch is waiting for etcd again ('reconnecting') or is live. */
  status(state: 'live' | 'reconnecting', error?: Error): void;
}

/**
 * A live copy of every key under a prefix with its metadata (lease, create revision): listed at
 * one revision R, then watched from R + 1 with previous values, so no change falls in between.
 * A watch that ends because its next revision was compacted is replaced by a new listing.
 */
export class Keyspace {
  /** Keys as UTF-8 text (what the page shows and sends back). */
  readonly keys = new Map<string, KeyValue>();
  revision = 0n;
  private readonly stop = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly etcd: Etcd,
    readonly prefix: string,
    private readonly listener: KeyspaceListener,
  ) {}

  /** Resolves after the first listing; the watch goes on until close(). */
  async start(): Promise<void> {
    await this.list();
    this.loop = this.follow();
  }

  private async list(): Promise<void> {
    const head = await this.etcd.range({ prefix: this.prefix, countOnly: true, signal: this.stop.signal });
    const next = new Map<string, KeyValue>();
    for await (const kv of this.etcd.scan({
      prefix: this.prefix,
      revision: head.revision,
      signal: this.stop.signal,
    }))
      next.set(kv.key.toString(), kv);
    this.keys.clear();
    for (const [k, kv] of next) this.keys.set(k, kv);
    this.revision = head.revision;
    this.listener.reset(this.revision);
  }

  private async follow(): Promise<void> {
    const backoff = new Backoff();
    const signal = this.stop.signal;
    while (!signal.aborted) {
      try {
        const w = this.etcd.watch({
          prefix: this.prefix,
          startRevision: this.revision + 1n,
          prevKv: true,
          signal,
        });
        w.on('disconnected', (err) => this.listener.status('reconnecting', err));
        w.on('created', () => this.listener.status('live'));
        for await (const b of w.batches()) {
          backoff.reset();
          for (const e of b.events) {
            const k = e.kv.key.toString();
            if (e.type === 'put') this.keys.set(k, e.kv);
            else this.keys.delete(k);
          }
          this.revision = b.revision;
          this.listener.batch(b);
        }
      } catch (err) {
        if (signal.aborted || err instanceof ClientClosedError) return;
        if (err instanceof AbortError) return;
        this.listener.status('reconnecting', err as Error);
        if (!(err instanceof CompactedError)) await sleep(backoff.next(), signal);
        // Read everything again: after a compaction the missed changes are only in the listing.
        while (!signal.aborted) {
          try {
            await this.list();
            break;
          } catch (e) {
            if (signal.aborted || e instanceof ClientClosedError) return;
            this.listener.status('reconnecting', e as Error);
            await sleep(backoff.next(), signal);
          }
        }
      }
    }
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.loop;
  }
}
