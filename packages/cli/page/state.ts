import type { Batch, Change, ClusterView, Hello, Kv, LeaseInfo, Snapshot, Status } from './protocol.js';

/** The page's copy of what the server follows, kept current by the event stream. */
export class State {
  readonly kvs = new Map<string, Kv>();
  revision = '0';
  changes: Change[] = [];
  changesLimit = 200;
  leases = new Map<string, LeaseInfo>();
  cluster: ClusterView | undefined;
  status: Status | { state: 'connecting' | 'disconnected'; error?: string } = { state: 'connecting' };
  hello: Hello = { since: Date.now(), prefix: '', namespace: '', writes: false, changes: 200 };
  /** Bumped on every change of the keys; `keysVersion` only when keys come or go. */
  version = 0;
  keysVersion = 0;
  /** When the page received the last batch (ms since the epoch), and the server's time of it. */
  lastBatch: { receivedAt: number; sentAt: number } | undefined;

  setHello(h: Hello): void {
    this.hello = h;
    this.changesLimit = h.changes;
  }

  reset(s: Snapshot): void {
    this.kvs.clear();
    for (const kv of s.kvs) this.kvs.set(kv.k, kv);
    this.revision = s.revision;
    this.changes = s.changes.slice();
    this.version++;
    this.keysVersion++;
  }

  apply(b: Batch): void {
    for (const e of b.events) {
      if (e.t === 'put') {
        const prev = this.kvs.get(e.kv.k);
        this.kvs.set(e.kv.k, e.kv);
        if (!prev) this.keysVersion++;
        const c: Change = { r: b.revision, t: 'put', k: e.kv.k, v: shown(e.kv), at: b.at };
        if (prev) c.p = shown(prev);
        this.changes.push(c);
      } else {
        const prev = this.kvs.get(e.k);
        this.kvs.delete(e.k);
        this.keysVersion++;
        const c: Change = { r: b.revision, t: 'delete', k: e.k, at: b.at };
        if (prev) c.p = shown(prev);
        this.changes.push(c);
      }
    }
    if (this.changes.length > this.changesLimit)
      this.changes.splice(0, this.changes.length - this.changesLimit);
    this.revision = b.revision;
    this.version++;
    this.lastBatch = { receivedAt: Date.now(), sentAt: b.at };
  }

  setLeases(list: LeaseInfo[]): void {
    this.leases = new Map(list.map((l) => [l.id, l]));
  }

  /** Seconds left on a lease now, counted down from its last read; undefined when unknown. */
  ttlLeft(id: string): number | undefined {
    const l = this.leases.get(id);
    if (!l) return undefined;
    return Math.max(0, l.ttl - Math.floor((Date.now() - l.readAt) / 1000));
  }
}

export function shown(kv: Kv): string {
  return kv.b ? `(${kv.s ?? Math.floor((kv.v.length * 3) / 4)} bytes, binary)` : kv.v;
}
