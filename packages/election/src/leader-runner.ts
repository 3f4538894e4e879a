import {
  AbortError,
  type Bytes,
  type Etcd,
  InvalidArgumentError,
  type Session,
  UnknownEtcdError,
} from '@etcdkit/core';
import { Backoff, diagnostics, linkSignals, logOf, sleep } from '@etcdkit/core/internal';
import { Election } from './election.js';
import { NotLeaderError } from './errors.js';
import { electionPrefix, toBuffer } from './internal/keys.js';
import type { Leader } from './leader.js';
import { observeLeader } from './observe.js';

/** What onLeading gets besides its signal: the election it leads, for guarded writes. */
export interface LeadingContext {
  /** Guard writes with `etcd.txn().if(election.isLeader())`: they fail once leadership is gone. */
  readonly election: Election;
  /** The session of this term: leadership ends when it is lost. */
  readonly session: Session;
}

/**
 * Options of {@link runForLeader} (and `new LeaderRunner()`). Checked at creation: a bad one throws
 * an InvalidArgumentError.
 */
export interface LeaderRunnerOptions {
  /** The client: the runner makes its own session on it (and a new one when that session is lost). */
  etcd: Etcd;
  /** Election name; candidates use `<name>/<lease id in hex>`, as `etcdctl elect <name>` does. */
  name: Bytes;
  /** This candidate's proposal, seen by observers (e.g. its address). */
  value: Bytes;
  /** Session TTL in seconds: how long a crashed leader holds on before another takes over. Default 10. */
  ttl?: number;
  /**
   * The leader's work. Runs while this process leads; `signal` aborts the moment leadership is
   * lost (session lost at its local deadline, key deleted) or stop() is called, or when
   * onLeading itself settles. Settling gives leadership up: the runner resigns and campaigns
   * again after `retryDelayMs`.
   */
  onLeading: (signal: AbortSignal, context: LeadingContext) => unknown;
  /** Every change of leader (any candidate's), `undefined` when there is none. */
  onLeaderChange?: (leader: Leader | undefined) => void;
  /**
   * Failures the runner recovers from by itself: lost leadership (SessionExpiredError,
   * NotLeaderError), etcd unreachable, onLeading throwing. Default: the client's `logger`
   * (rate-limited per kind of failure), and nothing without one.
   */
  onError?: (error: Error) => void;
  /** Stops the runner, like stop(). */
  signal?: AbortSignal;
  /** Pause before campaigning again after onLeading settled, and base of the backoff after failures. Default 1000. */
  retryDelayMs?: number;
}

type TermEnd = 'stopped' | 'lost' | 'settled';

/** What runner.health() reports, shaped for a liveness/readiness endpoint. */
export interface LeaderRunnerHealth {
  /**
   * False when this process leads but its lease's keepalive is overdue (no renewal for more than
   * half the TTL, when one is due every third): it may be working as a leader it no longer is.
   * A follower, or a stopped runner, is healthy.
   */
  ok: boolean;
  /** True while this process leads (its onLeading runs); false for a follower or a stopped runner. */
  leader: boolean;
  /** True once stop() was called (or the `signal` option aborted). */
  stopped: boolean;
  /** While leading: ms until the local deadline at which leadership is declared lost. */
  leaseRemainingMs?: number;
  /** While leading: ms since the keepalive that last renewed the lease was sent. */
  sinceRenewalMs?: number;
  /** Why not ok. */
  problem?: string;
}

const MAX_BACKOFF_MS = 30_000;

function isAbortLike(err: unknown, reason: unknown): boolean {
  return err === reason || err instanceof AbortError || (err instanceof Error && err.name === 'AbortError');
}

/**
 * Campaign for leadership in a loop and run `onLeading` whenever elected: the leader-runner
 * of etcdkit, in the spirit of client-go's leader election but with its pitfall removed: the
 * signal given to `onLeading` aborts as soon as leadership is in doubt (the session is declared
 * lost at its local deadline, before etcd expires the lease and elects someone else), and
 * stop() waits for `onLeading` to settle before resigning, so two leaders never work at once
 * as long as `onLeading` honours its signal. Create it with `runForLeader()`.
 */
export class LeaderRunner implements AsyncDisposable {
  private readonly etcd: Etcd;
  private readonly name: Bytes;
  private readonly value: Buffer;
  private readonly ttl: number;
  private readonly retryDelayMs: number;
  private readonly onLeading: LeaderRunnerOptions['onLeading'];
  private readonly onLeaderChange: LeaderRunnerOptions['onLeaderChange'];
  private readonly onError: LeaderRunnerOptions['onError'];
  private readonly stopper = new AbortController();
  private readonly done: Promise<void>;
  private term: LeadingContext | undefined;
  private lastLeader: Leader | undefined;

  /**
   * Start campaigning at once (same as {@link runForLeader}).
   *
   * @throws {@link @etcdkit/core!InvalidArgumentError} for a bad option (no client, empty name, a
   * `ttl` or `retryDelayMs` out of range, no `onLeading`).
   */
  constructor(options: LeaderRunnerOptions) {
    if (!options || typeof options !== 'object')
      throw new InvalidArgumentError('runForLeader needs an options object');
    const { etcd, name, value, ttl = 10, retryDelayMs = 1000, onLeading } = options;
    if (!etcd || typeof etcd.session !== 'function')
      throw new InvalidArgumentError('runForLeader needs `etcd`: an Etcd client from @etcdkit/core');
    electionPrefix(name);
    if (!Number.isInteger(ttl) || ttl < 1)
      throw new InvalidArgumentError(`ttl must be a whole number of seconds >= 1, got ${ttl}`);
    if (!Number.isFinite(retryDelayMs) || retryDelayMs < 0)
      throw new InvalidArgumentError(
        `retryDelayMs must be a number of milliseconds >= 0, got ${retryDelayMs}`,
      );
    if (typeof onLeading !== 'function')
      throw new InvalidArgumentError(
        'runForLeader needs `onLeading`: async (signal) => { ...leader work... }',
      );
    this.etcd = etcd;
    this.name = name;
    this.value = toBuffer(value, 'value');
    this.ttl = ttl;
    this.retryDelayMs = retryDelayMs;
    this.onLeading = onLeading;
    this.onLeaderChange = options.onLeaderChange;
    this.onError = options.onError;
    const external = options.signal;
    const onAbort = (): void => void this.stop();
    if (external?.aborted)
      this.stopper.abort(new AbortError('the leader runner was stopped', { cause: external.reason }));
    else external?.addEventListener('abort', onAbort, { once: true });
    this.done = Promise.all([this.campaignLoop(), this.observeLoop()]).then(() =>
      external?.removeEventListener('abort', onAbort),
    );
  }

  /** Health for a liveness/readiness endpoint (client-go's healthz adaptor semantics). */
  health(): LeaderRunnerHealth {
    const term = this.term;
    if (!term || this.stopped) return { ok: true, leader: false, stopped: this.stopped };
    const lease = term.session.leaseHandle;
    const ttlMs = lease.ttl * 1000;
    const sinceRenewalMs = Math.max(0, Date.now() - lease.renewedAt);
    const leaseRemainingMs = term.session.expired ? 0 : lease.remainingMs;
    const overdue = term.session.expired || sinceRenewalMs > ttlMs / 2;
    const out: LeaderRunnerHealth = {
      ok: !overdue,
      leader: true,
      stopped: false,
      leaseRemainingMs,
      sinceRenewalMs,
    };
    if (overdue)
      out.problem = `leading, but the lease was last renewed ${sinceRenewalMs} ms ago (ttl ${lease.ttl} s): keepalive overdue`;
    return out;
  }

  /** True while onLeading runs for this process. */
  get leading(): boolean {
    return this.term !== undefined;
  }

  /** The election this process leads, while it leads. */
  get election(): Election | undefined {
    return this.term?.election;
  }

  /** The last leader observed (any candidate), undefined when none or not yet known. */
  get leader(): Leader | undefined {
    return this.lastLeader;
  }

  /** True once stop() was called (or the `signal` option aborted). */
  get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  /**
   * Stop: abort onLeading's signal and wait for it to settle, resign (the next candidate is
   * elected at once) and close the session. Resolves when all of that is done; safe to call twice.
   */
  stop(): Promise<void> {
    if (!this.stopper.signal.aborted) this.stopper.abort(new AbortError('the leader runner was stopped'));
    return this.done;
  }

  /** Same as {@link LeaderRunner.stop}, for `await using runner = runForLeader(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private async campaignLoop(): Promise<void> {
    const backoff = new Backoff({ baseMs: this.retryDelayMs, capMs: MAX_BACKOFF_MS });
    while (!this.stopped) {
      const healthy = await this.withSession();
      if (this.stopped) return;
      if (healthy) backoff.reset();
      else await backoff.wait(this.stopper.signal);
    }
  }

  /** One session: campaign, lead, campaign again while it lives. False when something failed. */
  private async withSession(): Promise<boolean> {
    let session: Session;
    try {
      session = await this.etcd.session({ ttl: this.ttl, signal: this.stopper.signal });
    } catch (err) {
      if (!this.stopped) this.report(err);
      return false;
    }
    let election: Election | undefined;
    try {
      while (!this.stopped && !session.expired) {
        election = new Election(session, this.name);
        try {
          await election.campaign(this.value, { signal: this.stopper.signal });
        } catch (err) {
          if (this.stopped) return true;
          this.report(err);
          return err instanceof NotLeaderError || session.expired;
        }
        const end = await this.lead(election, session);
        if (end === 'stopped' || session.expired) return true;
        // Leadership is over: hand it over at once.
        await election.resign();
        if (end === 'settled') await sleep(this.retryDelayMs, this.stopper.signal);
      }
      return true;
    } catch (err) {
      if (!this.stopped) this.report(err);
      return false;
    } finally {
      // Resign before revoking: both free the key; resigning first does not wait on the lease.
      if (election && !session.expired) await election.resign().catch((err: unknown) => this.report(err));
      await session.close().catch((err: unknown) => this.report(err));
    }
  }

  /** Run onLeading for one term of leadership; returns why the term ended. */
  private async lead(election: Election, session: Session): Promise<TermEnd> {
    // The election's signal follows the leader key and the session: it aborts when either goes.
    const term = linkSignals(this.stopper.signal, election.signal);
    const context: LeadingContext = { election, session };
    this.term = context;
    let end: TermEnd = 'settled';
    try {
      await this.onLeading(term.signal, context);
    } catch (err) {
      // Errors caused by the abort are the expected way for onLeading to stop.
      if (!(term.signal.aborted && isAbortLike(err, term.signal.reason))) this.report(err);
    } finally {
      if (this.term === context) this.term = undefined;
      if (this.stopper.signal.aborted) end = 'stopped';
      else if (term.signal.aborted) {
        end = 'lost';
        this.report(term.signal.reason);
      }
      term.abort(new NotLeaderError('leadership ended: onLeading settled, so the runner resigns'));
    }
    return end;
  }

  private async observeLoop(): Promise<void> {
    const backoff = new Backoff({ baseMs: Math.max(this.retryDelayMs, 1), capMs: MAX_BACKOFF_MS });
    while (!this.stopped) {
      try {
        for await (const leader of observeLeader(this.etcd, this.name, { signal: this.stopper.signal })) {
          backoff.reset();
          const previous = this.lastLeader;
          this.lastLeader = leader;
          if (diagnostics.election.hasSubscribers) this.publishLeader(leader, previous);
          try {
            this.onLeaderChange?.(leader);
          } catch (err) {
            this.report(err);
          }
        }
      } catch (err) {
        if (this.stopped) return;
        this.report(err);
        await backoff.wait(this.stopper.signal);
      }
    }
  }

  private publishLeader(leader: Leader | undefined, previous: Leader | undefined): void {
    const info = (l: Leader | undefined) =>
      l && { key: l.key, value: l.value, createRevision: l.createRevision, lease: l.lease };
    diagnostics.election.publish({
      type: 'leader',
      name: electionPrefix(this.name).subarray(0, -1).toString(),
      leader: info(leader),
      previous: info(previous),
    });
  }

  private report(err: unknown): void {
    const error = err instanceof Error ? err : new UnknownEtcdError(String(err), { cause: err });
    if (!this.onError) {
      // Never dropped, never printed by itself: the client's logger says it, once per rate window.
      const log = logOf(this.etcd);
      if (log.enabled) {
        const name = electionPrefix(this.name).subarray(0, -1).toString();
        const code = (error as { code?: unknown }).code ?? error.name;
        log.warn(
          `leader-runner:${name}:${String(code)}`,
          { election: name, err: error },
          `etcdkit: leader-runner ${JSON.stringify(name)}: ${error.message} (recovering by itself)`,
        );
      }
      return;
    }
    try {
      this.onError(error);
    } catch (thrown) {
      // A throwing error handler is a bug of the caller: surface it, as an uncaught exception.
      queueMicrotask(() => {
        throw thrown;
      });
    }
  }
}

/**
 * Take part in the election `name` for as long as the returned runner lives; run `onLeading`
 * whenever this process is the leader. `await using runner = runForLeader({...})`, or
 * `await runner.stop()`.
 *
 * @example
 * ```ts
 * const runner = runForLeader({
 *   etcd,
 *   name: 'scheduler',
 *   value: process.env.HOSTNAME ?? 'worker',
 *   onLeading: async (signal) => {
 *     while (!signal.aborted) await tick(signal); // stop as soon as leadership is in doubt
 *   },
 * });
 * process.once('SIGTERM', () => void runner.stop()); // resigns: the next candidate takes over
 * ```
 */
export function runForLeader(options: LeaderRunnerOptions): LeaderRunner {
  return new LeaderRunner(options);
}
