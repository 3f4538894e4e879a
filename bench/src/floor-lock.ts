/**
 * The event-driven floor of a lock (or an election) on bare grpc-js: the fewest RPCs a queue of
 * waiters in the layout of etcd's Go `concurrency` package needs, and no client work beyond
 * reading the answers.
 *
 * - acquire: one txn, as Go's `concurrency.Mutex` sends it (put `<name>/<lease hex>` if absent,
 *   else read it; in both branches read the keys under `<name>/` by create revision, keys only).
 *   The keys created before mine are the ones ahead; no key can appear ahead later.
 * - wait: one Watch on the prefix, deletes only (filter NOPUT), opened once per client and kept:
 *   each DELETE event of a key ahead (after the join's revision) takes it off; none left = mine.
 * - release: one DeleteRange of my key, as Go's `Unlock`.
 *
 * Nothing else: no deadline, retry, confirming read or conversion. One waiter per instance (per
 * client) at a time.
 */
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { type GrpcFloor, prefixEnd, type RawKeyValue, type RawWatchResponse } from './grpc-floor.js';

interface RawResponseOp {
  responseRange?: { kvs: RawKeyValue[] };
}

export class FloorLock {
  private readonly key: Buffer;
  private readonly acquireReq: { compare: object[]; success: object[]; failure: object[] };
  private stream: ClientDuplexStream<object, RawWatchResponse> | undefined;
  /** Latest deletion revision seen per key (latin1), so a deletion that beats the join's answer counts. */
  private readonly deleted = new Map<string, bigint>();
  private waiting: { pending: Set<string>; after: bigint; resolve: () => void } | undefined;
  /** The revision of my current hold: my key's create revision (the fencing token). */
  fencingToken = 0n;

  private constructor(
    private readonly floor: GrpcFloor,
    name: string,
    lease: string,
  ) {
    const prefix = Buffer.from(`${name}/`);
    this.key = Buffer.from(`${name}/${BigInt(lease).toString(16)}`);
    const queue = {
      requestRange: {
        key: prefix,
        rangeEnd: prefixEnd(prefix),
        sortOrder: 'ASCEND',
        sortTarget: 'CREATE',
        keysOnly: true,
      },
    };
    this.acquireReq = {
      compare: [{ key: this.key, target: 'CREATE', result: 'EQUAL', createRevision: '0' }],
      success: [{ requestPut: { key: this.key, value: Buffer.alloc(0), lease } }, queue],
      failure: [{ requestRange: { key: this.key } }, queue],
    };
  }

  /** A waiter on `floor` (one client) with a lease of its own, its delete watch confirmed by etcd. */
  static async open(floor: GrpcFloor, name: string, ttl = 600): Promise<FloorLock> {
    const lease = (await floor.leaseGrant(ttl)).ID;
    const l = new FloorLock(floor, name, lease);
    await l.watch(Buffer.from(`${name}/`));
    return l;
  }

  private watch(prefix: Buffer): Promise<void> {
    const stream = this.floor.watch();
    this.stream = stream;
    return new Promise<void>((resolve, reject) => {
      stream.on('error', (e: Error & { code?: number }) => {
        if (e.code !== 1) reject(e); // 1 = CANCELLED: closed by close()
      });
      stream.on('data', (r: RawWatchResponse) => {
        if (r.created) resolve();
        for (const ev of r.events) {
          if (ev.type !== 'DELETE') continue;
          const k = ev.kv.key.toString('latin1');
          const rev = BigInt(ev.kv.modRevision);
          this.deleted.set(k, rev);
          const w = this.waiting;
          if (w && rev > w.after && w.pending.delete(k) && w.pending.size === 0) {
            this.waiting = undefined;
            w.resolve();
          }
        }
      });
      stream.write({
        createRequest: { key: prefix, rangeEnd: prefixEnd(prefix), filters: ['NOPUT'] },
      });
    });
  }

  /** Join and wait for my turn. */
  async lock(): Promise<void> {
    const r = await this.floor.txn(this.acquireReq);
    const responses = r.responses as RawResponseOp[];
    const mine = r.succeeded ? r.header.revision : responses[0]?.responseRange?.kvs[0]?.createRevision;
    if (mine === undefined) throw new Error('floor lock: my key vanished during the join');
    const rev = BigInt(mine);
    const at = BigInt(r.header.revision);
    const pending = new Set<string>();
    for (const kv of responses[1]?.responseRange?.kvs ?? []) {
      if (BigInt(kv.createRevision) >= rev) break;
      const k = kv.key.toString('latin1');
      if ((this.deleted.get(k) ?? 0n) <= at) pending.add(k);
    }
    this.fencingToken = rev;
    if (pending.size === 0) return;
    await new Promise<void>((resolve) => {
      this.waiting = { pending, after: at, resolve };
    });
  }

  /** Release: delete my key (Go's Unlock). */
  async unlock(): Promise<void> {
    await this.floor.deleteRange({ key: this.key });
  }

  close(): void {
    this.stream?.cancel();
  }
}
