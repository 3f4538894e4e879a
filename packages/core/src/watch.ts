import type * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'eventemitter3';
import { diagnostics } from './diagnostics.js';
import {
  AbortError,
  AuthFailedError,
  ClientClosedError,
  CompactedError,
  type EtcdError,
  InvalidArgumentError,
  InvalidTokenError,
  PermissionDeniedError,
  UnavailableError,
  WatchCanceledError,
} from './errors.js';
import { Backoff } from './internal/backoff.js';
import type { Connection } from './internal/connection.js';
import { toEtcdError } from './internal/error-map.js';
import type { KeySelector, Keyspace } from './internal/keyspace.js';
import { logOf } from './internal/log.js';
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
  filters?: {
    /** Leave out puts. */
    noPut?: boolean;
    /** Leave out deletes. */
    noDelete?: boolean;
  };
  /** Ask etcd for periodic progress bookmarks while idle (every 10 minutes by default on the server). */
  progressNotify?: boolean;
  /** Ends the watch; the iterator then throws an AbortError. */
  signal?: AbortSignal;
}

/** One change of a watched key, as {@link Watcher} yields it. */
export interface WatchEvent {
  /** `put` (created or updated) or `delete` (deleted, or expired with its lease). */
  type: 'put' | 'delete';
  /**
   * The key after the change. For a delete: the key with an empty value and `modRevision` = the
   * revision of the delete.
   */
  kv: KeyValue;
  /**
   * The key before the change, when the watch was created with `prevKv` (absent if it did not exist
   * or was compacted).
   */
  prevKv?: KeyValue;
}

/** All events of one revision, delivered together; a bookmark has no events. */
export interface WatchBatch {
  /**
   * The revision of these events (or, for a bookmark, the revision everything up to which was
   * delivered).
   */
  revision: bigint;
  /** The events of this revision, in the order etcd applied them; empty for a bookmark. */
  events: WatchEvent[];
}

/** Events of a {@link Watcher} (an eventemitter3 emitter), for observing a watch while iterating it. */
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

/**
 * How long the shared Watch stream stays open after its last watch closed, in ms. Lock and
 * election waits, mirrors restarting and request-scoped watches come and go in bursts: reusing
 * the open stream spares each of them a stream set-up (a round trip plus etcd's per-stream
 * goroutines). 30 s covers such bursts, while a client that stopped watching gives the stream
 * back to etcd soon. etcd.close() closes it at once, and an idle stream never keeps the process
 * alive.
 */
export const WATCH_STREAM_IDLE_MS = 30_000;

type State = 'pending' | 'creating' | 'active' | 'paused' | 'ended';

const channel = diagnostics.watch;
/** Numbers the watches of this process in diagnostics messages. */
let watchSerial = 0;

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
  readonly #record: WatchRecord;
  #consumed = false;

  private constructor(record: WatchRecord) {
    super();
    this.#record = record;
  }

  /** Resolves with the revision the watch starts after, once etcd has confirmed it. */
  get ready(): Promise<bigint> {
    return this.#record.ready;
  }

  /** The revision of the last batch handed to the consumer (or bookmark seen by it). */
  get revision(): bigint {
    return this.#record.deliveredRevision;
  }

  /** True once the watch has ended (closed, aborted, or failed). */
  get ended(): boolean {
    return this.#record.state === 'ended';
  }

  /** Whole revisions in order; with `bookmarks`, progress notifications too (as batches without events). */
  batches(options: { bookmarks?: boolean } = {}): AsyncGenerator<WatchBatch, void, undefined> {
    if (this.#consumed)
      throw new InvalidArgumentError(
        'a watcher can be iterated once; create another watch for a second consumer',
      );
    this.#consumed = true;
    return this.#record.batches(options.bookmarks ?? false);
  }

  /**
   * Iterate the events one by one, in revision order, without gaps or duplicates across reconnects.
   * A watcher can be iterated once. The iteration ends after {@link Watcher.close}; it throws an
   * AbortError when `signal` aborts, a {@link CompactedError} when the next revision to deliver was
   * compacted, a {@link ClientClosedError} when the client closes.
   *
   * @example
   * ```ts
   * for await (const ev of etcd.watch({ prefix: 'config/' })) {
   *   console.log(ev.type, ev.kv.key.toString(), ev.kv.value.toString());
   * }
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<WatchEvent, void, undefined> {
    for await (const b of this.batches()) yield* b.events;
  }

  /** Stop watching. Events already received are still iterated; then the iterator ends. */
  close(): void {
    this.#record.end(undefined);
  }

  /** Same as {@link Watcher.close}, for `using`-style disposal. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/** Makes the façade of a record; Watcher's constructor is not public. */
const newWatcher = (r: WatchRecord): Watcher =>
  new (Watcher as unknown as new (r: WatchRecord) => Watcher)(r);

/**
 * Everything the hub knows of one watch: its create request, where it stands on the stream,
 * and the queue its consumer reads. Only the hub and the record itself change it; the user
 * sees it through its Watcher.
 */
class WatchRecord {
  readonly request: WireWatchCreateRequest;
  readonly facade: Watcher;
  state: State = 'pending';
  /** Server watch id while active. */
  id: string | undefined;
  /** The first revision not yet received: where a re-created watch starts. */
  nextRevision: bigint;
  /** The start revision of the create request on the wire (0n: from now). */
  sentStart = 0n;
  deliveredRevision = 0n;
  readonly serial = ++watchSerial;
  /** Confirmed by etcd at least once: a later creation is a resume. */
  private confirmed = false;
  private readonly hub: WatchHub;
  private readonly ks: Keyspace;
  private readonly highWaterMark: number;
  private queue: WatchBatch[] = [];
  /** When each queued batch arrived (ms since the epoch), for lag. */
  private arrived: number[] = [];
  private head = 0;
  private queuedEvents = 0;

  get queuedCount(): number {
    return this.queuedEvents;
  }
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = () =>
    this.end(new AbortError('the watch was aborted', { cause: this.signal?.reason }));
  readonly ready: Promise<bigint>;
  private resolveReady!: (rev: bigint) => void;
  private rejectReady!: (e: Error) => void;

  constructor(hub: WatchHub, ks: Keyspace, o: WatchOptions, highWaterMark: number) {
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
    this.ready = new Promise<bigint>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {}); // only observed by those who ask for it
    this.facade = newWatcher(this);
    this.signal = o.signal;
    if (o.signal?.aborted) queueMicrotask(this.onAbort);
    else o.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  async *batches(bookmarks: boolean): AsyncGenerator<WatchBatch, void, undefined> {
    try {
      for (;;) {
        if (this.head < this.queue.length) {
          const b = this.queue[this.head]!;
          this.queue[this.head++] = undefined as unknown as WatchBatch;
          if (this.head > 1024 && this.head * 2 > this.queue.length) {
            this.queue = this.queue.slice(this.head);
            this.arrived = this.arrived.slice(this.head);
            this.head = 0;
          }
          this.queuedEvents -= b.events.length;
          if (this.state === 'paused' && this.queuedEvents <= this.highWaterMark / 2) this.hub.resume(this);
          if (b.events.length > 0 || bookmarks) {
            this.deliveredRevision = b.revision;
            if (channel.hasSubscribers) this.publishLag();
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
      this.end(undefined);
    }
  }

  /** Since when the oldest batch the consumer has not taken waits (0: none waits). */
  get waitingSince(): number {
    return this.head < this.arrived.length ? this.arrived[this.head]! : 0;
  }

  private publishLag(): void {
    const since = this.waitingSince;
    const first = this.queue[this.head];
    const last = this.queue[this.queue.length - 1];
    // Behind by the revisions queued: from the last one taken (or just before the oldest queued).
    const taken =
      first && first.revision - 1n > this.deliveredRevision ? first.revision - 1n : this.deliveredRevision;
    channel.publish({
      type: 'lag',
      watch: this.serial,
      key: this.request.key,
      revisions: since && last ? last.revision - taken : 0n,
      ms: since ? Date.now() - since : 0,
      queued: this.queuedEvents,
    });
  }

  created(revision: bigint): void {
    if (channel.hasSubscribers)
      channel.publish({
        type: this.confirmed ? 'resumed' : 'created',
        watch: this.serial,
        key: this.request.key,
        revision: this.confirmed ? this.nextRevision : revision,
      });
    this.confirmed = true;
    if (this.nextRevision === 0n) this.nextRevision = revision + 1n;
    this.resolveReady(revision);
    this.facade.emit('created', revision);
  }

  received(events: WireEvent[]): void {
    if (this.state === 'ended') return;
    let batch: WatchBatch | undefined;
    const now = Date.now();
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
        this.arrived.push(now);
      }
      batch.events.push(ev);
      this.queuedEvents++;
      this.nextRevision = kv.modRevision + 1n;
    }
    if (this.state === 'active' && this.queuedEvents > this.highWaterMark) this.hub.pause(this);
    if (batch && channel.hasSubscribers) this.publishLag();
    this.poke();
  }

  /** Everything up to `revision` has been received. */
  progressed(revision: bigint): void {
    if (this.state === 'ended' || revision < this.nextRevision) return;
    this.nextRevision = revision + 1n;
    this.queue.push({ revision, events: [] });
    this.arrived.push(Date.now());
    this.facade.emit('progress', revision);
    this.poke();
  }

  disconnected(err: EtcdError): void {
    if (this.state !== 'ended') this.facade.emit('disconnected', err);
  }

  /** End the watch, with an error or (undefined) normally. */
  end(err: Error | undefined): void {
    if (this.state === 'ended') return;
    const wasId = this.id;
    this.state = 'ended';
    this.id = undefined;
    this.error = err;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.hub.remove(this, wasId);
    this.rejectReady(err ?? new AbortError('the watch was closed before etcd confirmed it'));
    if (channel.hasSubscribers) {
      if (err instanceof CompactedError)
        channel.publish({
          type: 'compacted',
          watch: this.serial,
          key: this.request.key,
          compactRevision: err.compactRevision,
        });
      channel.publish({ type: 'ended', watch: this.serial, key: this.request.key, error: err });
    }
    this.facade.emit('ended', err);
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

function cancelError(r: WireWatchResponse, w: WatchRecord): Error {
  const reason = r.cancelReason.replace(/^etcdserver: /, '');
  if (/permission denied/.test(reason))
    return new PermissionDeniedError(
      `watch on ${JSON.stringify(w.request.key.toString())}: permission denied; grant the user read access to that range`,
      { key: Buffer.from(w.request.key) },
    );
  return new WatchCanceledError(`etcd cancelled the watch: ${reason || 'no reason given'}`);
}

function compactedError(compact: bigint, w: WatchRecord): CompactedError {
  if (w.sentStart === w.nextRevision - 1n && compact === w.nextRevision)
    return new CompactedError(
      compact,
      `revision ${compact} is the compact revision, and this etcd (before 3.4.34 and 3.5.16) cannot ` +
        `replay the deletes made at the compact revision itself; read again and watch from the read's revision + 1`,
    );
  return new CompactedError(compact);
}

/**
 * Whether an etcd version replays the deletes made at the compact revision (etcd-io/etcd#18089
 * was fixed in 3.4.34; 3.5 releases before 3.5.16 are treated as affected, for want of certainty
 * about which 3.5 patch release took the fix).
 */
export function replaysCompactRevision(version: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (major !== 3) return major > 3;
  if (minor === 4) return patch >= 34;
  if (minor === 5) return patch >= 16;
  return minor > 5;
}

/** Counters of one hub, for tests and measurements. */
export interface WatchHubStats {
  /** Watch streams opened so far: one for many watchers is the point. */
  streamsOpened: number;
  /** Watches created again one revision earlier because they started behind etcd (the compaction guard). */
  guardRecreates: number;
  /** Watches created from one revision before their start, either way (the guard at work). */
  guardedCreates: number;
  /** Watches paused on the server because their consumer fell behind (back-pressure). */
  pauses: number;
}

/**
 * The one Watch stream of a client. Watches are created on it in order (etcd answers creations
 * in the order they were asked, which is how a failed creation is matched to its watcher), and
 * all of them are re-created from their next revision whenever the stream is replaced.
 *
 * The compaction guard (etcd-io/etcd#18089, fixed in etcd 3.4.34; 3.5 before 3.5.16 is treated
 * as affected): a watch that etcd has to catch up from a start revision N equal to the compact
 * revision silently misses the deletes at N. A watch known to start behind etcd (a revision at or past N was seen on
 * the stream) is created from N − 1, whose events are repeats and dropped; one that turns out
 * to start behind (its create response's header revision is at or past N) is created again
 * from N − 1. etcd then either serves it in full, or ends it as compacted (with the compact
 * revision) whenever the compact revision is past N − 1, that is at or past N. A watch that
 * starts at or after etcd's next revision is served live and cannot miss anything.
 */
export class WatchHub {
  private readonly conn: Connection;
  private stream: grpc.ClientDuplexStream<WireWatchRequest, WireWatchResponse> | undefined;
  private streamIndex = 0;
  private opening = false;
  /** One create is out to learn etcd's revision; the other pending watches wait for its answer. */
  private probing = false;
  private readonly watchers = new Set<WatchRecord>();
  private readonly byId = new Map<string, WatchRecord>();
  /** Watchers whose create request is on the wire, oldest first. */
  private creating: WatchRecord[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff({ baseMs: 50, capMs: 1000 });
  /** How long an idle stream stays open (ms); 0 closes it with the last watch. */
  idleMs: number;
  /** Per endpoint index: whether its etcd version replays the compact revision (no guard needed). */
  private readonly fixedEndpoints = new Map<number, boolean>();
  readonly stats: WatchHubStats = { streamsOpened: 0, guardRecreates: 0, guardedCreates: 0, pauses: 0 };
  /** The highest revision etcd reported on any stream: it is at least there now. */
  private knownRevision = 0n;

  constructor(conn: Connection) {
    this.conn = conn;
    // Read this way until the client's options carry it.
    this.idleMs = conn.options.watchStreamIdleMs ?? WATCH_STREAM_IDLE_MS;
  }

  /** Whether a Watch stream is open now (busy or idle). */
  get streamOpen(): boolean {
    return this.stream !== undefined;
  }

  watch(ks: Keyspace, o: WatchOptions): Watcher {
    if (this.conn.closed) throw new ClientClosedError();
    const r = new WatchRecord(this, ks, o, this.conn.options.watchHighWaterMark);
    this.watchers.add(r);
    this.busy();
    this.create(r);
    return r.facade;
  }

  private create(w: WatchRecord): void {
    if (w.state === 'ended') return;
    w.state = 'pending';
    if (!this.stream) {
      this.open();
      return;
    }
    const n = w.nextRevision;
    // Known to start behind etcd (a resume after a pause, a startRevision in the past): guard
    // at once rather than after the create response.
    this.send(w, n > 1n && n <= this.knownRevision && this.mayMiss() ? n - 1n : n);
  }

  /**
   * Create every pending watch on a new stream. Those that may start behind etcd, when more
   * than one, wait for the answer to the first one's create, whose header revision tells which
   * of them start behind: a resume of many watches pays one round trip for the guard rather
   * than one extra create each.
   */
  private createPending(): void {
    let probe: WatchRecord | undefined;
    let held = 0;
    for (const w of this.watchers) {
      if (w.state !== 'pending') continue;
      const n = w.nextRevision;
      if (n > 1n && n > this.knownRevision && this.mayMiss()) {
        if (probe) {
          held++;
          continue;
        }
        probe = w;
      }
      this.create(w);
    }
    this.probing = held > 0;
  }

  /** Whether the member of the current stream may run a version that needs the guard. */
  private mayMiss(): boolean {
    return this.fixedEndpoints.get(this.streamIndex) !== true;
  }

  private send(w: WatchRecord, start: bigint): void {
    const req: WireWatchCreateRequest = { ...w.request };
    if (start > 0n) req.startRevision = start.toString();
    if (start > 0n && start < w.nextRevision) this.stats.guardedCreates++;
    w.sentStart = start;
    w.state = 'creating';
    this.creating.push(w);
    this.stream!.write({ createRequest: req });
  }

  remove(w: WatchRecord, id: string | undefined): void {
    this.watchers.delete(w);
    if (id !== undefined) {
      this.byId.delete(id);
      this.cancel(id);
    }
    // A watcher still being created is cancelled when its creation is confirmed.
    this.maybeIdle();
  }

  /** The consumer fell behind: stop the server sending until it catches up. */
  pause(w: WatchRecord): void {
    if (w.state !== 'active' || w.id === undefined) return;
    w.state = 'paused';
    this.stats.pauses++;
    if (channel.hasSubscribers)
      channel.publish({ type: 'paused', watch: w.serial, key: w.request.key, queued: w.queuedCount });
    this.byId.delete(w.id);
    this.cancel(w.id);
    w.id = undefined;
  }

  resume(w: WatchRecord): void {
    if (w.state !== 'paused') return;
    if (channel.hasSubscribers)
      channel.publish({ type: 'unpaused', watch: w.serial, key: w.request.key, queued: w.queuedCount });
    this.create(w);
  }

  /** Watches open, and those paused or whose oldest undelivered batch is older than `ms`. */
  lagging(ms: number): { active: number; lagging: number } {
    const now = Date.now();
    let lagging = 0;
    for (const w of this.watchers) {
      const since = w.waitingSince;
      if (w.state === 'paused' || (since > 0 && now - since > ms)) lagging++;
    }
    return { active: this.watchers.size, lagging };
  }

  private cancel(id: string): void {
    this.stream?.write({ cancelRequest: { watchId: id } });
  }

  /** A watch is in use: an idle stream is kept. */
  private busy(): void {
    if (this.idleTimer === undefined) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.refStream(true);
  }

  /** The last watch is gone: keep the stream for the next one, for a while. */
  private maybeIdle(): void {
    if (this.watchers.size > 0 || this.creating.length > 0 || this.idleTimer !== undefined) return;
    if (!this.stream || this.idleMs <= 0) {
      this.closeStream();
      return;
    }
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.watchers.size === 0 && this.creating.length === 0) this.closeStream();
    }, this.idleMs);
    this.idleTimer.unref();
    this.refStream(false);
  }

  /**
   * An idle stream must not keep the process alive; a busy one does, as any call in flight.
   * Referencing again before the stream closes hands the decision back to grpc-js, which
   * unreferences the session when its last call ends.
   */
  private refStream(ref: boolean): void {
    const session = http2SessionOf(this.stream);
    if (ref) session?.ref();
    else session?.unref();
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
        this.stats.streamsOpened++;
        call.on('data', (r: WireWatchResponse) => this.onResponse(r));
        call.on('error', (e) => this.broken(call, e));
        call.on('end', () => this.broken(call, new UnavailableError('etcd ended the watch stream')));
        this.learnVersion(index);
        this.createPending();
      })
      .catch((err: unknown) => {
        this.opening = false;
        const e = toEtcdError(err, { method: 'Watch.Watch' });
        if (e instanceof ClientClosedError || this.conn.closed) return;
        if (e instanceof AuthFailedError) {
          // Wrong user or password: trying again cannot help, so every watch ends with the reason.
          for (const w of [...this.watchers]) w.end(e);
          return;
        }
        for (const w of this.watchers) w.disconnected(e);
        this.retry(e);
      });
  }

  /**
   * Ask the member once for its version: the compaction guard is not needed from 3.4.34 and
   * 3.5.16 on. Until the answer comes (or if it never does), watches are guarded.
   */
  private learnVersion(index: number): void {
    if (this.fixedEndpoints.has(index)) return;
    this.fixedEndpoints.set(index, false);
    this.conn
      .unary<object, { version: string }>(
        'Maintenance',
        'Status',
        {},
        { idempotent: true, endpointIndex: index },
      )
      .then((s) => this.fixedEndpoints.set(index, replaysCompactRevision(s.version)))
      .catch(() => this.fixedEndpoints.delete(index)); // asked again with the next stream
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
    this.busy();
    const old = this.stream;
    this.stream = undefined;
    if (old) {
      old.on('error', () => {}); // cancelled by us below
      old.cancel();
    }
    this.byId.clear();
    this.creating = [];
    this.probing = false;
    for (const w of this.watchers) {
      w.id = undefined;
      if (w.state !== 'paused') w.state = 'pending';
      w.disconnected(e);
    }
    this.retry(e);
  }

  private retry(error?: unknown): void {
    if (this.retryTimer || this.conn.closed || this.watchers.size === 0) return;
    const delayMs = this.backoff.next();
    const attempt = this.backoff.attempts;
    if (diagnostics.connection.hasSubscribers)
      diagnostics.connection.publish({ type: 'retry', operation: 'Watch.Watch', attempt, delayMs, error });
    const log = logOf(this.conn.options);
    if (log.enabled)
      log.warn(
        'watch-stream',
        { watches: this.watchers.size, attempt, delayMs, err: error },
        `etcdkit: the watch stream is down${error instanceof Error ? ` (${error.message})` : ''}; retrying with backoff`,
      );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.open();
    }, delayMs);
  }

  private onResponse(r: WireWatchResponse): void {
    const rev = BigInt(r.header.revision);
    if (rev > this.knownRevision) this.knownRevision = rev;
    if (r.created) {
      const w = this.creating.shift();
      if (this.probing) {
        // The revision etcd is at is known now: create the watches that waited for it.
        this.probing = false;
        for (const x of this.watchers) if (x.state === 'pending') this.create(x);
      }
      if (!w) return;
      this.backoff.reset();
      if (r.canceled) {
        if (/invalid auth token|auth store is old/.test(r.cancelReason)) {
          // The stream's token expired: authenticate again and re-create every watch on a new stream.
          this.conn.invalidateToken();
          w.state = 'pending';
          this.replace(new InvalidTokenError(`watch stream token rejected: ${r.cancelReason}`));
          return;
        }
        const compact = BigInt(r.compactRevision);
        w.end(compact > 0n ? compactedError(compact, w) : cancelError(r, w));
        return;
      }
      if (w.state !== 'creating') {
        // Closed or paused while its creation was in flight.
        this.cancel(r.watchId);
        this.maybeIdle();
        return;
      }
      const start = w.sentStart;
      if (start > 1n && start === w.nextRevision && BigInt(r.header.revision) >= start && this.mayMiss()) {
        // Created behind etcd: the compaction guard (see above). Its events so far are dropped
        // with its id; the watch from start - 1 delivers them again.
        this.cancel(r.watchId);
        this.stats.guardRecreates++;
        this.send(w, start - 1n);
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
      w.end(compact > 0n ? compactedError(compact, w) : cancelError(r, w));
      return;
    }
    if (r.events.length === 0) w.progressed(BigInt(r.header.revision));
  }

  private closeStream(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.busy();
    const s = this.stream;
    this.stream = undefined;
    this.byId.clear();
    this.creating = [];
    this.probing = false;
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

interface RefHandle {
  ref(): void;
  unref(): void;
}

/**
 * The HTTP/2 session a grpc-js stream runs on. grpc-js keeps the session referenced while any
 * call is open and offers no way to unreference one call, so an idle stream reaches its session
 * through the call chain (interceptors, resolving, retrying and load-balancing calls, then the
 * subchannel call's HTTP/2 stream). Should grpc-js change that chain, this finds nothing and an
 * idle stream keeps the process alive until the idle period ends: a slower exit, nothing worse.
 */
function http2SessionOf(stream: unknown): RefHandle | undefined {
  const seen = new Set<unknown>();
  let level: unknown[] = [stream];
  for (let depth = 0; depth < 10 && level.length; depth++) {
    const next: unknown[] = [];
    for (const o of level) {
      if (typeof o !== 'object' || o === null || seen.has(o)) continue;
      seen.add(o);
      const h2 = (o as { http2Stream?: { session?: RefHandle } }).http2Stream;
      if (typeof h2?.session?.unref === 'function') return h2.session;
      const rec = o as Record<string, unknown>;
      for (const k of ['call', 'nextCall', 'child', 'underlyingCalls'])
        if (k in rec) {
          const v = rec[k];
          if (Array.isArray(v)) next.push(...v);
          else next.push(v);
        }
    }
    level = next;
  }
  return undefined;
}

/** The hub of each client and namespace view, for the internal entry's counters. */
const hubs = new WeakMap<object, WatchHub>();

export function bindWatchHub(client: object, hub: WatchHub): void {
  hubs.set(client, hub);
}

/** Counters of a client's watch stream (shared with its namespace views). */
export function watchStats(client: object): Readonly<WatchHubStats> & { streamOpen: boolean } {
  const hub = hubs.get(client);
  if (!hub) throw new InvalidArgumentError('watchStats() needs an Etcd client or namespace view');
  return { ...hub.stats, streamOpen: hub.streamOpen };
}

/** Set how long a client's idle Watch stream stays open (ms; 0: close it with the last watch). */
export function setWatchStreamIdleMs(client: object, ms: number): void {
  const hub = hubs.get(client);
  if (!hub) throw new InvalidArgumentError('setWatchStreamIdleMs() needs an Etcd client or namespace view');
  if (!Number.isSafeInteger(ms) || ms < 0)
    throw new InvalidArgumentError(`watchStreamIdleMs must be a whole number of ms >= 0, got ${ms}`);
  hub.idleMs = ms;
}

/** How many Watch streams a client has opened so far: one for many watchers is the point. */
export function watchStreamsOpened(client: object): number {
  return watchStats(client).streamsOpened;
}
