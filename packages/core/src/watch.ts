import type * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'eventemitter3';
import {
  AbortError,
  ClientClosedError,
  CompactedError,
  type EtcdError,
  InvalidTokenError,
  PermissionDeniedError,
  WatchCanceledError,
} from './errors.js';
import type { Connection } from './internal/connection.js';
import { toEtcdError } from './internal/error-map.js';
import type { KeySelector, Keyspace } from './internal/keyspace.js';
import type {
  WireEvent,
  WireWatchCreateRequest,
  WireWatchRequest,
  WireWatchResponse,
} from './internal/wire.js';
import { type KeyValue, type Revision, revisionString, toKeyValue } from './kv.js';

export interface WatchOptions extends KeySelector {
  /** First revision to deliver (inclusive). Default: changes after now. */
  startRevision?: Revision;
  /** Include each event's previous key-value. */
  prevKv?: boolean;
  /** Leave out puts or deletes. */
  filters?: { noPut?: boolean; noDelete?: boolean };
  /** Ask etcd for periodic progress bookmarks while idle (every 10 minutes by default on the server). */
  progressNotify?: boolean;
  /** Ends the watch; the iterator then throws an AbortError. */
  signal?: AbortSignal;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
  prevKv?: KeyValue;
}

/** All events of one revision, delivered together; a bookmark has no events. */
export interface WatchBatch {
  revision: bigint;
  events: WatchEvent[];
}

export interface WatcherEvents {
  /** etcd confirmed the watch; events after `revision` follow. */
  created: [revision: bigint];
  /** Everything up to `revision` has been delivered (a bookmark). */
  progress: [revision: bigint];
  /** The shared stream broke; the watch resumes from its next revision once it is back. */
  disconnected: [error: EtcdError];
  /** The watch ended; `error` is set when it ended by failure. */
  ended: [error: Error | undefined];
}

type State = 'pending' | 'creating' | 'active' | 'paused' | 'ended';

/**
 * One watch on the client's shared stream. Iterate it for events, or `batches()` for whole
 * revisions. Events come in revision order, without duplicates or gaps, across reconnects:
 * the watch is re-created from the revision after the last one it received. If that revision
 * was compacted, the watch ends with a CompactedError instead of skipping.
 *
 * Back-pressure: when more than `watchHighWaterMark` events wait for the consumer, the watch
 * is cancelled on the server and re-created from the next revision once the consumer has
 * drained half of them, so memory stays bounded and nothing is lost.
 */
export class Watcher extends EventEmitter<WatcherEvents> implements AsyncIterable<WatchEvent> {
  /** @internal */ readonly request: WireWatchCreateRequest;
  /** @internal */ readonly ks: Keyspace;
  /** @internal */ state: State = 'pending';
  /** @internal server watch id while active */ id: string | undefined;
  /** @internal the first revision not yet received; where a re-created watch starts */ nextRevision: bigint;
  private readonly hub: WatchHub;
  private readonly highWaterMark: number;
  private queue: WatchBatch[] = [];
  private head = 0;
  private queuedEvents = 0;
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  private consumed = false;
  private deliveredRevision = 0n;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = () =>
    this.end(new AbortError('the watch was aborted', { cause: this.signal?.reason }));
  private readonly readyPromise: Promise<bigint>;
  private resolveReady!: (rev: bigint) => void;
  private rejectReady!: (e: Error) => void;

  /** @internal */
  constructor(hub: WatchHub, ks: Keyspace, o: WatchOptions, highWaterMark: number) {
    super();
    this.hub = hub;
    this.ks = ks;
    this.highWaterMark = highWaterMark;
    const start = revisionString(o.startRevision, 'startRevision');
    this.nextRevision = start ? BigInt(start) : 0n;
    const filters: ('NOPUT' | 'NODELETE')[] = [];
    if (o.filters?.noPut) filters.push('NOPUT');
    if (o.filters?.noDelete) filters.push('NODELETE');
    this.request = {
      ...ks.range(o),
      prevKv: o.prevKv ?? false,
      progressNotify: o.progressNotify ?? false,
      filters,
    };
    this.readyPromise = new Promise<bigint>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.readyPromise.catch(() => {}); // only observed by those who ask for it
    this.signal = o.signal;
    if (o.signal?.aborted) queueMicrotask(this.onAbort);
    else o.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Resolves with the revision the watch starts after, once etcd has confirmed it. */
  get ready(): Promise<bigint> {
    return this.readyPromise;
  }

  /** The revision of the last batch handed to the consumer (or bookmark seen by it). */
  get revision(): bigint {
    return this.deliveredRevision;
  }

  get ended(): boolean {
    return this.state === 'ended';
  }

  /** Whole revisions in order; with `bookmarks`, progress notifications too (as batches without events). */
  async *batches(options: { bookmarks?: boolean } = {}): AsyncGenerator<WatchBatch, void, undefined> {
    if (this.consumed)
      throw new Error('a watcher can be iterated once; create another watch for a second consumer');
    this.consumed = true;
    try {
      for (;;) {
        if (this.head < this.queue.length) {
          const b = this.queue[this.head]!;
          this.queue[this.head++] = undefined as unknown as WatchBatch;
          if (this.head > 1024 && this.head * 2 > this.queue.length) {
            this.queue = this.queue.slice(this.head);
            this.head = 0;
          }
          this.queuedEvents -= b.events.length;
          if (this.state === 'paused' && this.queuedEvents <= this.highWaterMark / 2) this.hub.resume(this);
          if (b.events.length > 0 || options.bookmarks) {
            this.deliveredRevision = b.revision;
            yield b;
          } else if (b.revision > this.deliveredRevision) {
            this.deliveredRevision = b.revision;
          }
          continue;
        }
        if (this.state === 'ended') {
          if (this.error) throw this.error;
          return;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
    } finally {
      // Leaving the loop early (break, throw) ends the watch.
      this.close();
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<WatchEvent, void, undefined> {
    for await (const b of this.batches()) yield* b.events;
  }

  /** Stop watching. Events already received are still iterated; then the iterator ends. */
  close(): void {
    this.end(undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /** @internal */
  created(revision: bigint): void {
    if (this.nextRevision === 0n) this.nextRevision = revision + 1n;
    this.resolveReady(revision);
    this.emit('created', revision);
  }

  /** @internal */
  received(events: WireEvent[]): void {
    if (this.state === 'ended') return;
    let batch: WatchBatch | undefined;
    for (const e of events) {
      const kv = toKeyValue(e.kv, this.ks);
      // A revision at or before one already received can only be a repeat: drop it.
      if (kv.modRevision < this.nextRevision && batch?.revision !== kv.modRevision) continue;
      const ev: WatchEvent = e.prevKv
        ? { type: e.type === 'PUT' ? 'put' : 'delete', kv, prevKv: toKeyValue(e.prevKv, this.ks) }
        : { type: e.type === 'PUT' ? 'put' : 'delete', kv };
      if (!batch || batch.revision !== kv.modRevision) {
        batch = { revision: kv.modRevision, events: [] };
        this.queue.push(batch);
      }
      batch.events.push(ev);
      this.queuedEvents++;
      this.nextRevision = kv.modRevision + 1n;
    }
    if (this.state === 'active' && this.queuedEvents > this.highWaterMark) this.hub.pause(this);
    this.poke();
  }

  /** @internal everything up to `revision` has been received */
  progressed(revision: bigint): void {
    if (this.state === 'ended' || revision < this.nextRevision) return;
    this.nextRevision = revision + 1n;
    this.queue.push({ revision, events: [] });
    this.emit('progress', revision);
    this.poke();
  }

  /** @internal */
  disconnected(err: EtcdError): void {
    if (this.state !== 'ended') this.emit('disconnected', err);
  }

  /** @internal end the watch, with an error or (undefined) normally */
  end(err: Error | undefined): void {
    if (this.state === 'ended') return;
    const wasId = this.id;
    this.state = 'ended';
    this.error = err;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.hub.remove(this, wasId);
    this.rejectReady(err ?? new AbortError('the watch was closed before etcd confirmed it'));
    this.emit('ended', err);
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

function cancelError(r: WireWatchResponse, w: Watcher): Error {
  const reason = r.cancelReason.replace(/^etcdserver: /, '');
  if (/permission denied/.test(reason))
    return new PermissionDeniedError(
      `watch on ${JSON.stringify(w.request.key.toString())}: permission denied; grant the user read access to that range`,
      { key: Buffer.from(w.request.key) },
    );
  return new WatchCanceledError(`etcd cancelled the watch: ${reason || 'no reason given'}`);
}

/**
 * The one Watch stream of a client. Watches are created on it in order (etcd answers creations
 * in the order they were asked, which is how a failed creation is matched to its watcher), and
 * all of them are re-created from their next revision whenever the stream is replaced.
 */
export class WatchHub {
  private readonly conn: Connection;
  private stream: grpc.ClientDuplexStream<WireWatchRequest, WireWatchResponse> | undefined;
  private streamIndex = 0;
  private opening = false;
  private readonly watchers = new Set<Watcher>();
  private readonly byId = new Map<string, Watcher>();
  /** Watchers whose create request is on the wire, oldest first. */
  private creating: Watcher[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private backoffMs = 50;
  /** How many streams were opened; a stream count of 1 for many watchers is the point. */
  streamsOpened = 0;

  constructor(conn: Connection) {
    this.conn = conn;
  }

  watch(ks: Keyspace, o: WatchOptions): Watcher {
    if (this.conn.closed) throw new ClientClosedError();
    const w = new Watcher(this, ks, o, this.conn.options.watchHighWaterMark);
    this.watchers.add(w);
    this.create(w);
    return w;
  }

  private create(w: Watcher): void {
    if (w.state === 'ended') return;
    w.state = 'pending';
    if (!this.stream) {
      this.open();
      return;
    }
    const req: WireWatchCreateRequest = { ...w.request };
    if (w.nextRevision > 0n) req.startRevision = w.nextRevision.toString();
    w.state = 'creating';
    this.creating.push(w);
    this.stream.write({ createRequest: req });
  }

  /** @internal */
  remove(w: Watcher, id: string | undefined): void {
    this.watchers.delete(w);
    if (id !== undefined) {
      this.byId.delete(id);
      this.cancel(id);
    }
    // A watcher still being created is cancelled when its creation is confirmed.
    if (this.watchers.size === 0 && this.creating.length === 0) this.closeStream();
  }

  /** @internal the consumer fell behind: stop the server sending until it catches up */
  pause(w: Watcher): void {
    if (w.state !== 'active' || w.id === undefined) return;
    w.state = 'paused';
    this.byId.delete(w.id);
    this.cancel(w.id);
    w.id = undefined;
  }

  /** @internal */
  resume(w: Watcher): void {
    if (w.state === 'paused') this.create(w);
  }

  private cancel(id: string): void {
    this.stream?.write({ cancelRequest: { watchId: id } });
  }

  private open(): void {
    if (this.opening || this.stream || this.conn.closed || this.watchers.size === 0) return;
    this.opening = true;
    this.conn
      .openStream<WireWatchRequest, WireWatchResponse>('Watch', 'Watch', { requireLeader: true })
      .then(({ call, index }) => {
        this.opening = false;
        if (this.conn.closed || this.watchers.size === 0) {
          call.on('error', () => {}); // cancelled by us
          call.cancel();
          return;
        }
        this.stream = call;
        this.streamIndex = index;
        this.streamsOpened++;
        call.on('data', (r: WireWatchResponse) => this.onResponse(r));
        call.on('error', (e) => this.broken(call, e));
        call.on('end', () => this.broken(call, new Error('etcd ended the watch stream')));
        for (const w of this.watchers) if (w.state === 'pending') this.create(w);
      })
      .catch((err: unknown) => {
        this.opening = false;
        const e = toEtcdError(err, { method: 'Watch.Watch' });
        if (e instanceof ClientClosedError || this.conn.closed) return;
        for (const w of this.watchers) w.disconnected(e);
        this.retry();
      });
  }

  private broken(call: WatchHub['stream'], err: unknown): void {
    if (this.stream !== call) return;
    const e = toEtcdError(err, { method: 'Watch.Watch' });
    if (e instanceof InvalidTokenError) this.conn.invalidateToken();
    else this.conn.reportFailure(this.streamIndex, e);
    this.replace(e);
  }

  /** Drop the current stream and re-create every watch on a new one from its next revision. */
  private replace(e: EtcdError): void {
    const old = this.stream;
    this.stream = undefined;
    if (old) {
      old.on('error', () => {}); // cancelled by us below
      old.cancel();
    }
    this.byId.clear();
    this.creating = [];
    for (const w of this.watchers) {
      w.id = undefined;
      if (w.state !== 'paused') w.state = 'pending';
      w.disconnected(e);
    }
    this.retry();
  }

  private retry(): void {
    if (this.retryTimer || this.conn.closed || this.watchers.size === 0) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.open();
    }, this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, 1000);
  }

  private onResponse(r: WireWatchResponse): void {
    if (r.created) {
      const w = this.creating.shift();
      if (!w) return;
      this.backoffMs = 50;
      if (r.canceled) {
        if (/invalid auth token|auth store is old/.test(r.cancelReason)) {
          // The stream's token expired: authenticate again and re-create every watch on a new stream.
          this.conn.invalidateToken();
          w.state = 'pending';
          this.replace(new InvalidTokenError(`watch stream token rejected: ${r.cancelReason}`));
          return;
        }
        w.end(cancelError(r, w));
        return;
      }
      if (w.state !== 'creating') {
        // Closed or paused while its creation was in flight.
        this.cancel(r.watchId);
        if (this.watchers.size === 0 && this.creating.length === 0) this.closeStream();
        return;
      }
      w.state = 'active';
      w.id = r.watchId;
      this.byId.set(r.watchId, w);
      w.created(BigInt(r.header.revision));
      if (r.events.length) w.received(r.events);
      return;
    }
    // Stream-wide progress answers (watch id -1) are never requested: etcd 3.4 sends them without
    // checking that every watch caught up, so they cannot serve as resume points.
    if (r.watchId === '-1') return;
    const w = this.byId.get(r.watchId);
    if (!w) return; // a watch we cancelled; its last responses are of no interest
    if (r.events.length) w.received(r.events);
    if (r.canceled) {
      this.byId.delete(r.watchId);
      w.id = undefined;
      const compact = BigInt(r.compactRevision);
      w.end(compact > 0n ? new CompactedError(compact) : cancelError(r, w));
      return;
    }
    if (r.events.length === 0) w.progressed(BigInt(r.header.revision));
  }

  private closeStream(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const s = this.stream;
    this.stream = undefined;
    this.byId.clear();
    this.creating = [];
    if (s) {
      s.on('error', () => {}); // the cancel below surfaces as a CANCELLED error we asked for
      s.cancel();
    }
  }

  close(): void {
    for (const w of [...this.watchers]) w.end(new ClientClosedError());
    this.closeStream();
  }
}
