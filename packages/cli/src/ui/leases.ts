import type { Etcd } from '@etcdkit/core';

const READS_AT_ONCE = 64;

/** A lease's remaining time as read at `readAt` (ms since the epoch): the page counts down from it. */
export interface LeaseInfo {
  id: bigint;
  /** Seconds left at `readAt`. */
  ttl: number;
  grantedTtl: number;
  readAt: number;
}

/**
 * The leases the page shows, with their TTLs. etcd has no watch on leases, so a lease is read
 * when it first appears on a key, when one of its keys changes, and again once a third of its
 * granted TTL has passed (when a keepalive, which no event reveals, would have renewed it).
 * The list of all leases is read on refresh(). Reads of one moment are batched.
 */
export class LeaseTracker {
  private readonly leases = new Map<bigint, LeaseInfo>();
  private readonly timers = new Map<bigint, NodeJS.Timeout>();
  private readonly due = new Set<bigint>();
  private flushing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly etcd: Etcd,
    private readonly changed: () => void,
    private readonly failed: (err: Error) => void,
  ) {}

  list(): LeaseInfo[] {
    return [...this.leases.values()];
  }

  /** Read these leases soon (they appeared on keys, or their keys changed). */
  touch(ids: Iterable<bigint>): void {
    for (const id of ids) if (id !== 0n) this.due.add(id);
    this.schedule();
  }

  /** Read the list of every lease, then those not known yet. */
  async refresh(): Promise<void> {
    const ids = await this.etcd.lease.list();
    const live = new Set(ids);
    let gone = false;
    for (const id of this.leases.keys())
      if (!live.has(id)) {
        this.forget(id);
        gone = true;
      }
    this.touch(ids.filter((id) => !this.leases.has(id)));
    if (gone) this.changed();
  }

  private schedule(): void {
    if (this.closed || this.flushing || this.due.size === 0) return;
    this.flushing = (async () => {
      // Let the events of one revision gather first.
      await new Promise((r) => setImmediate(r));
      while (this.due.size && !this.closed) {
        // A bounded number of reads in flight, however many leases there are.
        const ids = [...this.due].slice(0, READS_AT_ONCE);
        for (const id of ids) this.due.delete(id);
        await Promise.all(ids.map((id) => this.read(id)));
        this.changed();
      }
    })()
      .catch((err: unknown) => this.failed(err as Error))
      .finally(() => {
        this.flushing = undefined;
        this.schedule();
      });
  }

  private async read(id: bigint): Promise<void> {
    let r: { ttl: number; grantedTtl: number };
    try {
      r = await this.etcd.lease.timeToLive(id);
    } catch (err) {
      if (!this.closed) this.failed(err as Error);
      return;
    }
    if (this.closed) return;
    if (r.ttl < 0) {
      this.forget(id);
      return;
    }
    this.leases.set(id, { id, ttl: r.ttl, grantedTtl: r.grantedTtl, readAt: Date.now() });
    clearTimeout(this.timers.get(id));
    const again = Math.max(1, Math.min(r.ttl + 1, Math.ceil(r.grantedTtl / 3))) * 1000;
    const t = setTimeout(() => {
      this.timers.delete(id);
      this.touch([id]);
    }, again);
    t.unref();
    this.timers.set(id, t);
  }

  private forget(id: bigint): void {
    this.leases.delete(id);
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.flushing;
  }
}
