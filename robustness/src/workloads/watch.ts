/**
 * The watch/mirror workload: two writers make random puts, deletes, multi-key transactions and
 * range deletes under one prefix, while three watchers (whole prefix from now, a sub-prefix with
 * prevKv, whole prefix from the first revision of the run) and a config-sync mirror follow it,
 * each on its own client through the proxies. Everything they saw is kept for the checkers.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type ConfigSnapshot, type Mirror, mirror } from '@etcdkit/config-sync';
import { CompactedError, compare, Etcd, op, type Watcher, type WatchOptions } from '@etcdkit/core';
import { checkMirror } from '../checkers/mirror.js';
import { checkWatch } from '../checkers/watch.js';
import { type Event, Progress, type Recorder, toEvent } from '../history.js';
import { KV_END_SUFFIX, KV_PREFIX } from '../keys.js';
import { Prng } from '../prng.js';
import { CLIENT_OPTIONS, type Testbed } from '../testbed.js';
import type { Workload } from '../workload.js';

/** One watch, from creation to its end; a watcher that ends compacted starts a new segment. */
export interface Segment {
  /** The startRevision asked for; undefined = "from now" (then `created + 1`). */
  from: bigint | undefined;
  created: bigint | undefined;
  batches: { revision: bigint; events: Event[] }[];
  /** How it ended: closed by the run, compacted, or another error. */
  end: 'open' | 'closed' | 'compacted' | Error;
}

export interface Follower {
  name: string;
  prefix: string;
  prevKv: boolean;
  segments: Segment[];
}

export interface PublishedSnapshot {
  revision: bigint;
  entries: [string, string][];
}

const KEYS = 20;
const key = (rng: Prng) => `${KV_PREFIX}k${rng.int(KEYS)}`;

async function write(etcd: Etcd, rng: Prng, n: number): Promise<void> {
  const dice = rng.int(100);
  if (dice < 45) await etcd.put(key(rng), `v${n}`);
  else if (dice < 65) await etcd.delete(key(rng));
  else if (dice < 90) {
    // Several keys in one revision: watchers must deliver them together.
    const k = key(rng);
    await etcd
      .txn()
      .if(compare.version(k, '>', 0))
      .then(op.put(key(rng), `t${n}`), op.delete(k), op.put(key(rng), `u${n}`))
      .else(op.put(k, `e${n}`), op.put(key(rng), `f${n}`))
      .commit();
  } else {
    // k1, k10..k19: a range delete of up to 11 keys in one revision.
    await etcd.delete({ prefix: `${KV_PREFIX}k1` });
  }
}

export class WatchWorkload implements Workload {
  readonly name = 'watch';
  readonly clients = [];
  readonly followers: Follower[] = [];
  readonly snapshots: PublishedSnapshot[] = [];
  private readonly clientsToClose: Etcd[] = [];
  private readonly stopWriters = new AbortController();
  private readonly tasks: Promise<void>[] = [];
  private readonly progress = new Map<Follower, Progress>();
  private readonly watchers = new Set<Watcher>();
  private cfg: Mirror<string> | undefined;
  private readonly mirrorProgress = new Progress(0n);
  private writes = 0;
  private writeErrors = 0;
  private mirrorErrors = 0;

  private constructor(
    private readonly bed: Testbed,
    private readonly seed: number,
  ) {}

  static async start(bed: Testbed, seed: number, history: Recorder): Promise<WatchWorkload> {
    const w = new WatchWorkload(bed, seed);
    await w.startMirror();
    w.follow('watch-all', KV_PREFIX, undefined, {}, 2);
    w.follow('watch-k1-prevkv', `${KV_PREFIX}k1`, undefined, { prevKv: true }, 3);
    w.follow('watch-from-start', KV_PREFIX, history.startRevision + 1n, {}, 4);
    for (let i = 0; i < 2; i++) w.tasks.push(w.writer(i));
    return w;
  }

  private client(i: number): Etcd {
    const etcd = new Etcd({ endpoints: this.bed.endpointsFor(i), ...CLIENT_OPTIONS });
    this.clientsToClose.push(etcd);
    return etcd;
  }

  private async writer(i: number): Promise<void> {
    const etcd = this.client(i);
    const rng = new Prng(this.seed).fork(`writer-${i}`);
    const signal = this.stopWriters.signal;
    while (!signal.aborted) {
      try {
        await write(etcd, rng, this.writes);
        this.writes++;
      } catch {
        // Outcome unknown or refused: the recorded history says which.
        this.writeErrors++;
        await sleep(50);
      }
      await sleep(rng.between(2, 25));
    }
  }

  private async startMirror(): Promise<void> {
    const etcd = this.client(1);
    this.cfg = await mirror(etcd, KV_PREFIX);
    this.cfg.on('error', () => this.mirrorErrors++);
    this.cfg.subscribe((snap: ConfigSnapshot<string>) => {
      const entries = [...snap].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      this.snapshots.push({ revision: snap.revision, entries });
      this.mirrorProgress.advance(snap.revision);
    });
  }

  private follow(name: string, prefix: string, from: bigint | undefined, o: WatchOptions, i: number): void {
    const follower: Follower = { name, prefix, prevKv: o.prevKv === true, segments: [] };
    this.followers.push(follower);
    const progress = new Progress(0n);
    this.progress.set(follower, progress);
    const etcd = this.client(i);
    this.tasks.push(
      (async () => {
        let start = from;
        for (;;) {
          const segment: Segment = { from: start, created: undefined, batches: [], end: 'open' };
          follower.segments.push(segment);
          const watcher = etcd.watch({
            ...o,
            prefix,
            ...(start !== undefined ? { startRevision: start } : {}),
          });
          this.watchers.add(watcher);
          watcher.on('created', (r) => (segment.created ??= r));
          try {
            for await (const b of watcher.batches()) {
              segment.batches.push({ revision: b.revision, events: b.events.map(toEvent) });
              progress.advance(b.revision);
            }
            segment.end = 'closed';
            return;
          } catch (err) {
            segment.end = err instanceof CompactedError ? 'compacted' : (err as Error);
            if (!(err instanceof CompactedError)) return;
            // Compacted past this watcher: a new one from now (the checker skips the lost part).
            start = undefined;
          } finally {
            this.watchers.delete(watcher);
          }
        }
      })(),
    );
  }

  async stop(): Promise<void> {
    this.stopWriters.abort();
  }

  /** After the writers stopped: the end key is written, and every follower must get it. */
  async catchUp(failures: string[]): Promise<void> {
    // One end key under each followed prefix, all in one revision.
    const prefixes = [...new Set(this.followers.map((f) => f.prefix))];
    const puts = prefixes.map((p) => op.put(`${p}${KV_END_SUFFIX}`, 'end'));
    const end = (
      await this.bed.admin
        .txn()
        .then(...puts)
        .commit()
    ).revision;
    for (const f of this.followers) {
      const current = f.segments.at(-1)!;
      if (current.end !== 'open') continue;
      if (!(await this.progress.get(f)!.reach(end, 60_000)))
        failures.push(`${f.name} did not receive revision ${end} (the end key) within 60 s`);
    }
    if (!(await this.mirrorProgress.reach(end, 60_000)))
      failures.push(`the mirror did not publish revision ${end} (the end key) within 60 s`);
  }

  async close(): Promise<void> {
    for (const w of this.watchers) w.close();
    await Promise.all(this.tasks);
    await this.cfg?.close();
    await Promise.all(this.clientsToClose.map((c) => c.close()));
  }

  summary(): string {
    const segments = this.followers.map((f) => `${f.name}:${f.segments.length}`).join(',');
    return (
      `writes=${this.writes} writeErrors=${this.writeErrors} watchSegments=${segments} ` +
      `snapshots=${this.snapshots.length} mirrorErrors=${this.mirrorErrors}`
    );
  }

  check(history: Recorder, facts: { compactions: readonly bigint[] }) {
    return [checkWatch(history, this.followers, facts.compactions), checkMirror(history, this.snapshots)];
  }
}
