import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  type ConfigMessage,
  type ConnectionMessage,
  DIAGNOSTICS_CHANNELS,
  type ElectionMessage,
  InvalidArgumentError,
  type LockMessage,
  type RpcMessage,
  type SessionMessage,
  type WatchMessage,
} from '@etcdkit/core';
import {
  type Attributes,
  context,
  type Meter,
  type MeterProvider,
  metrics,
  type ObservableResult,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { METRICS } from './names.js';

/**
 * Options of {@link instrument}, checked when it is called: an unknown name or a provider
 * without getMeter()/getTracer() is an InvalidArgumentError.
 */
export interface InstrumentOptions {
  /** Where metrics go. Default: the global MeterProvider (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
  /** Where spans go. Default: the global TracerProvider (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /** A span per unary RPC. Default true (metrics are recorded either way). */
  rpcSpans?: boolean;
}

/** The handle instrument() returns: close() unsubscribes, after which nothing is recorded. */
export interface Instrumentation extends Disposable {
  /**
   * Unsubscribe from every channel, stop the observable gauges and end the spans of locks still
   * held. Safe to call twice; `using otel = instrument()` calls it at the end of the scope.
   */
  close(): void;
  /** True once close() was called. */
  readonly closed: boolean;
}

const SCOPE = '@etcdkit/otel';
const VERSION = '0.1.0';

/** `host:port`, `http://host:port` or `https://[::1]:port` into server.address / server.port. */
function server(endpoint: string): Attributes {
  const bare = endpoint.replace(/^[a-z]+:\/\//, '').replace(/\/$/, '');
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(bare);
  return m ? { 'server.address': m[1], 'server.port': Number(m[2]) } : { 'server.address': bare };
}

function errorType(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.name : '_OTHER';
}

/**
 * Subscribe to etcdkit's diagnostics channels and record OpenTelemetry metrics and spans (see
 * the README for the list). Several instrumentations may run at once (each records once).
 * `@opentelemetry/api` must be installed; with no SDK registered, everything is a no-op.
 */
export function instrument(options: InstrumentOptions = {}): Instrumentation {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError(
      'instrument() takes an options object { meterProvider?, tracerProvider? }',
    );
  for (const k of Object.keys(options))
    if (!['meterProvider', 'tracerProvider', 'rpcSpans'].includes(k))
      throw new InvalidArgumentError(
        `instrument(): unknown option ${JSON.stringify(k)}; accepted: meterProvider, tracerProvider, rpcSpans`,
      );
  if (options.meterProvider !== undefined && typeof options.meterProvider?.getMeter !== 'function')
    throw new InvalidArgumentError('meterProvider must be an OpenTelemetry MeterProvider (with getMeter())');
  if (options.tracerProvider !== undefined && typeof options.tracerProvider?.getTracer !== 'function')
    throw new InvalidArgumentError(
      'tracerProvider must be an OpenTelemetry TracerProvider (with getTracer())',
    );
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE, VERSION);
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE, VERSION);
  return new Recorder(meter, tracer, options.rpcSpans ?? true);
}

interface RpcCall {
  start: number;
  span: Span | undefined;
}

class Recorder implements Instrumentation {
  private done = false;
  private readonly unsubscribers: (() => void)[] = [];
  private readonly rpcCalls = new WeakMap<object, RpcCall>();
  private readonly lockSpans = new Map<string, Span>();
  private readonly sessions = new Set<bigint>();
  private readonly held = new Set<string>();
  private readonly leading = new Set<string>();
  /** Per watch: when its oldest undelivered batch arrived (0: none waits). */
  private readonly watchWaiting = new Map<number, number>();
  /** Per mirrored prefix: the last applied revision. */
  private readonly configRevisions = new Map<string, bigint>();

  private readonly rpcDuration;
  private readonly retries;
  private readonly failovers;
  private readonly dialTimeouts;
  private readonly sessionsLive;
  private readonly sessionsLost;
  private readonly lockWait;
  private readonly lockHold;
  private readonly locksLost;
  private readonly locksHeld;
  private readonly campaignWait;
  private readonly leaderChanges;
  private readonly leader;
  private readonly watchResumes;
  private readonly watchCompactions;
  private readonly watchPauses;
  private readonly configInvalid;
  private readonly configRelists;
  private readonly configApplied;
  private readonly observeGauges: (r: ObservableResult) => void;
  private readonly observeRevisions: (r: ObservableResult) => void;
  private readonly watchLag;
  private readonly configRevision;

  constructor(
    meter: Meter,
    private readonly tracer: Tracer,
    private readonly rpcSpans: boolean,
  ) {
    const ms = { unit: 'ms' };
    this.rpcDuration = meter.createHistogram(METRICS.rpcDuration, {
      ...ms,
      description: 'Duration of unary etcd RPCs, retries included',
    });
    this.retries = meter.createCounter(METRICS.retries, { description: 'Attempts retried with backoff' });
    this.failovers = meter.createCounter(METRICS.failovers, {
      description: 'Moves of the client to another etcd endpoint',
    });
    this.dialTimeouts = meter.createCounter(METRICS.dialTimeouts, {
      description: 'Calls that found no endpoint ready within dialTimeoutMs',
    });
    this.sessionsLive = meter.createUpDownCounter(METRICS.sessionsLive, { description: 'Sessions alive' });
    this.sessionsLost = meter.createCounter(METRICS.sessionsLost, {
      description: 'Sessions that ended without close()',
    });
    this.lockWait = meter.createHistogram(METRICS.lockWait, { ...ms, description: 'Time to acquire a lock' });
    this.lockHold = meter.createHistogram(METRICS.lockHold, { ...ms, description: 'Time a lock was held' });
    this.locksLost = meter.createCounter(METRICS.lockLost, {
      description: 'Locks whose ownership ended without unlock()',
    });
    this.locksHeld = meter.createUpDownCounter(METRICS.locksHeld, { description: 'Locks held now' });
    this.campaignWait = meter.createHistogram(METRICS.campaignWait, {
      ...ms,
      description: 'Time from campaign to election (or failure)',
    });
    this.leaderChanges = meter.createCounter(METRICS.leaderChanges, {
      description: 'Leader changes seen by leader-runners',
    });
    this.leader = meter.createUpDownCounter(METRICS.leader, {
      description: '1 while this process leads the election, else 0',
    });
    this.watchResumes = meter.createCounter(METRICS.watchResumes, {
      description: 'Watches re-created from their next revision',
    });
    this.watchCompactions = meter.createCounter(METRICS.watchCompactions, {
      description: 'Watches ended because their revisions were compacted',
    });
    this.watchPauses = meter.createCounter(METRICS.watchPauses, {
      description: 'Watches paused by back-pressure',
    });
    this.configInvalid = meter.createCounter(METRICS.configInvalid, {
      description: 'Config values rejected by the decoder or schema',
    });
    this.configRelists = meter.createCounter(METRICS.configRelists, {
      description: 'Mirrors listed again (after a compaction or an outage)',
    });
    this.configApplied = meter.createCounter(METRICS.configApplied, {
      description: 'Revisions applied to config mirrors',
    });
    this.watchLag = meter.createObservableGauge(METRICS.watchLag, {
      ...ms,
      description: 'How long the oldest event not yet taken by its consumer has waited, across watches',
    });
    this.observeGauges = (r) => {
      if (this.done) return;
      const now = Date.now();
      let lag = 0;
      for (const since of this.watchWaiting.values()) if (since > 0 && now - since > lag) lag = now - since;
      r.observe(lag);
    };
    this.watchLag.addCallback(this.observeGauges);
    this.configRevision = meter.createObservableGauge(METRICS.configRevision, {
      description: 'The last revision applied by each config mirror',
    });
    this.observeRevisions = (r) => {
      if (this.done) return;
      for (const [prefix, rev] of this.configRevisions)
        r.observe(Number(rev), { 'etcdkit.config.prefix': prefix });
    };
    this.configRevision.addCallback(this.observeRevisions);

    this.rpcChannel();
    this.on<ConnectionMessage>(DIAGNOSTICS_CHANNELS.connection, (m) => this.connection(m));
    this.on<SessionMessage>(DIAGNOSTICS_CHANNELS.session, (m) => this.session(m));
    this.on<WatchMessage>(DIAGNOSTICS_CHANNELS.watch, (m) => this.watch(m));
    this.on<LockMessage>(DIAGNOSTICS_CHANNELS.lock, (m) => this.lock(m));
    this.on<ElectionMessage>(DIAGNOSTICS_CHANNELS.election, (m) => this.election(m));
    this.on<ConfigMessage>(DIAGNOSTICS_CHANNELS.config, (m) => this.config(m));
  }

  get closed(): boolean {
    return this.done;
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    for (const u of this.unsubscribers.splice(0)) u();
    this.watchLag.removeCallback(this.observeGauges);
    this.configRevision.removeCallback(this.observeRevisions);
    for (const span of this.lockSpans.values()) span.end();
    this.lockSpans.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private on<T>(name: string, fn: (m: T) => void): void {
    const listener = (m: unknown) => {
      if (!this.done) fn(m as T);
    };
    subscribe(name, listener);
    this.unsubscribers.push(() => unsubscribe(name, listener));
  }

  // ---- RPCs ----------------------------------------------------------------------------------

  private rpcChannel(): void {
    const base = `tracing:${DIAGNOSTICS_CHANNELS.rpc}`;
    this.on<RpcMessage>(`${base}:start`, (m) => {
      let span: Span | undefined;
      if (this.rpcSpans)
        span = this.tracer.startSpan(
          `${m.service}/${m.method}`,
          {
            kind: SpanKind.CLIENT,
            attributes: {
              'rpc.system': 'grpc',
              'rpc.service': m.service,
              'rpc.method': m.method,
              ...server(m.endpoint),
            },
          },
          context.active(),
        );
      this.rpcCalls.set(m, { start: performance.now(), span });
    });
    const finish = (m: RpcMessage) => {
      const call = this.rpcCalls.get(m);
      if (!call) return;
      this.rpcCalls.delete(m);
      const failed = m.error !== undefined;
      const attributes: Attributes = {
        'rpc.system': 'grpc',
        'rpc.service': m.service,
        'rpc.method': m.method,
        ...server(m.endpoint),
      };
      if (failed) attributes['error.type'] = errorType(m.error);
      this.rpcDuration.record(performance.now() - call.start, attributes);
      const span = call.span;
      if (!span) return;
      span.setAttributes(server(m.endpoint));
      if (m.attempt > 1) span.setAttribute('etcdkit.rpc.attempts', m.attempt);
      if (failed) {
        span.setAttribute('error.type', errorType(m.error));
        if (m.error instanceof Error) span.recordException(m.error);
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: (m.error as Error)?.message ?? String(m.error),
        });
      }
      span.end();
    };
    this.on<RpcMessage>(`${base}:asyncEnd`, finish);
    // A call that threw before returning its promise ends here.
    this.on<RpcMessage>(`${base}:end`, (m) => {
      if (m.error !== undefined && m.outcome === undefined) finish(m);
    });
  }

  private connection(m: ConnectionMessage): void {
    switch (m.type) {
      case 'retry':
        this.retries.add(1, { 'etcdkit.operation': m.operation });
        break;
      case 'failover':
        this.failovers.add(1, { 'etcdkit.endpoint.from': m.from, 'etcdkit.endpoint.to': m.to });
        break;
      case 'dial-timeout':
        this.dialTimeouts.add(1, { 'etcdkit.operation': m.operation });
        break;
    }
  }

  // ---- sessions and watches ------------------------------------------------------------------

  private session(m: SessionMessage): void {
    if (m.type === 'granted') {
      this.sessions.add(m.lease);
      this.sessionsLive.add(1);
    } else if (m.type === 'lost' || m.type === 'revoked') {
      if (this.sessions.delete(m.lease)) this.sessionsLive.add(-1);
      if (m.type === 'lost') this.sessionsLost.add(1, { 'error.type': errorType(m.error) });
    }
  }

  private watch(m: WatchMessage): void {
    switch (m.type) {
      case 'lag':
        this.watchWaiting.set(m.watch, m.ms > 0 || m.queued > 0 ? Date.now() - m.ms : 0);
        break;
      case 'resumed':
        this.watchResumes.add(1);
        break;
      case 'compacted':
        this.watchCompactions.add(1);
        break;
      case 'paused':
        this.watchPauses.add(1);
        break;
      case 'ended':
        this.watchWaiting.delete(m.watch);
        break;
    }
  }

  // ---- locks and elections -------------------------------------------------------------------

  private lock(m: LockMessage): void {
    const attributes: Attributes = { 'etcdkit.lock.name': m.name, 'etcdkit.lock.kind': m.kind };
    const id = `${m.lease}:${m.key}`;
    switch (m.type) {
      case 'wait':
        this.startSpan('etcdkit.lock.acquire', id, {
          ...attributes,
          'etcdkit.lock.key': m.key,
          'etcdkit.lease': m.lease.toString(16),
        });
        break;
      case 'acquired':
        this.lockWait.record(m.waitMs, { ...attributes, 'etcdkit.lock.outcome': 'acquired' });
        if (!this.held.has(id)) {
          this.held.add(id);
          this.locksHeld.add(1, attributes);
        }
        this.endSpan(id, { 'etcdkit.lock.fencing_token': m.fencingToken.toString() });
        break;
      case 'failed':
        this.lockWait.record(m.waitMs, { ...attributes, 'etcdkit.lock.outcome': m.busy ? 'busy' : 'failed' });
        this.endSpan(id, { 'etcdkit.lock.outcome': m.busy ? 'busy' : 'failed' }, m.error);
        break;
      case 'released':
      case 'lost':
        this.lockHold.record(m.holdMs, {
          ...attributes,
          'etcdkit.lock.outcome': m.type,
        });
        if (this.held.delete(id)) this.locksHeld.add(-1, attributes);
        if (m.type === 'lost') this.locksLost.add(1, { ...attributes, 'error.type': errorType(m.error) });
        break;
    }
  }

  private election(m: ElectionMessage): void {
    const attributes: Attributes = { 'etcdkit.election.name': m.name };
    if (m.type === 'leader') {
      this.leaderChanges.add(1, { ...attributes, 'etcdkit.election.has_leader': m.leader !== undefined });
      return;
    }
    const id = `election:${m.lease}:${m.key}`;
    switch (m.type) {
      case 'campaign':
        this.startSpan('etcdkit.election.campaign', id, {
          ...attributes,
          'etcdkit.election.key': m.key,
          'etcdkit.lease': m.lease.toString(16),
        });
        break;
      case 'elected':
        this.campaignWait.record(m.waitMs, { ...attributes, 'etcdkit.election.outcome': 'elected' });
        if (!this.leading.has(id)) {
          this.leading.add(id);
          this.leader.add(1, attributes);
        }
        this.endSpan(id, { 'etcdkit.election.create_revision': m.createRevision.toString() });
        break;
      case 'campaign-failed':
        this.campaignWait.record(m.waitMs, { ...attributes, 'etcdkit.election.outcome': 'failed' });
        this.endSpan(id, {}, m.error);
        break;
      case 'resigned':
      case 'lost':
        if (this.leading.delete(id)) this.leader.add(-1, attributes);
        break;
    }
  }

  private startSpan(name: string, id: string, attributes: Attributes): void {
    this.lockSpans.get(id)?.end();
    this.lockSpans.set(id, this.tracer.startSpan(name, { attributes }, context.active()));
  }

  private endSpan(id: string, attributes: Attributes, error?: Error): void {
    const span = this.lockSpans.get(id);
    if (!span) return;
    this.lockSpans.delete(id);
    span.setAttributes(attributes);
    if (error) {
      span.recordException(error);
      span.setAttribute('error.type', errorType(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    }
    span.end();
  }

  // ---- config --------------------------------------------------------------------------------

  private config(m: ConfigMessage): void {
    const attributes: Attributes = { 'etcdkit.config.prefix': m.prefix };
    switch (m.type) {
      case 'synced':
        this.configRevisions.set(m.prefix, m.revision);
        break;
      case 'applied':
        this.configRevisions.set(m.prefix, m.revision);
        this.configApplied.add(1, attributes);
        break;
      case 'invalid':
        this.configInvalid.add(1, attributes);
        break;
      case 'relisted':
        this.configRevisions.set(m.prefix, m.revision);
        this.configRelists.add(1, { ...attributes, 'etcdkit.config.reason': m.reason });
        break;
      case 'closed':
        this.configRevisions.delete(m.prefix);
        break;
    }
  }
}
