import { type Etcd, op } from '@etcdkit/core';
import { until, useCluster } from '@etcdkit/testkit/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Change, type ConfigSnapshot, type MirrorStatus, mirror } from '../src/index.js';
import { ChangeModel, rangeAt } from './config-model.js';

const t = useCluster({ members: 3, client: { dialTimeoutMs: 2000 } });
let etcd: Etcd;
let writer: Etcd;

beforeAll(() => {
  etcd = t.etcd;
  writer = t.client({ requestTimeoutMs: 5000 });
});

/** Run `fn` until it succeeds: writes during a member failure may fail or time out. */
async function persist<T>(fn: () => Promise<T>): Promise<T | undefined> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      return await fn();
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('a write kept failing for 10 s');
}

/** A small deterministic PRNG, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('mirror on a 3-member cluster', () => {
  it('mirrors 10 000 keys through 2 000 writes while the watched member is killed and restarted', async () => {
    const prefix = 'big/';
    const N = 10_000;
    const key = (i: number) => `${prefix}k${String(i).padStart(5, '0')}`;
    // Load in transactions of 100 puts, four at a time.
    const batches = Array.from({ length: N / 100 }, (_, b) => b);
    for (let i = 0; i < batches.length; i += 4)
      await Promise.all(
        batches.slice(i, i + 4).map((b) =>
          writer
            .txn()
            .then(...Array.from({ length: 100 }, (_, j) => op.put(key(b * 100 + j), `v0-${b * 100 + j}`)))
            .commit(),
        ),
      );

    const cfg = await mirror(etcd, prefix);
    expect(cfg.status).toBe('live');
    expect(cfg.snapshot().size).toBe(N);
    expect(new Map(cfg.snapshot())).toEqual(await rangeAt(writer, prefix, cfg.revision));

    const statuses: MirrorStatus[] = [];
    cfg.on('status', (s) => statuses.push(s));
    const errors: Error[] = [];
    cfg.on('error', (e) => errors.push(e));
    const snapshots: ConfigSnapshot<string>[] = [];
    const sub = cfg.subscribe((s) => snapshots.push(s));
    const model = new ChangeModel<string>(cfg.snapshot(), cfg.revision);
    const changes = cfg.changes();
    const consumed = (async () => {
      for await (const c of changes as AsyncIterable<Change<string>>) model.apply(c);
    })();

    // 2 000 random puts and deletes, eight in flight; the member the mirror watches through
    // is killed after 600 of them and restarted after 1 300.
    const random = rng(42);
    const watched = t.cluster.members.find((m) => m.endpoint === etcd.endpoint);
    expect(watched).toBeDefined();
    let done = 0;
    let killed: Promise<void> | undefined;
    let restarted: Promise<void> | undefined;
    const worker = async () => {
      while (done < 2000) {
        const n = done++;
        if (n === 600) killed = watched!.kill();
        if (n === 1300) restarted = killed!.then(() => watched!.restart());
        const k = key(Math.floor(random() * (N * 1.1)));
        if (random() < 0.35) await persist(() => writer.delete(k));
        else await persist(() => writer.put(k, `v${n}`));
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    await restarted;
    await t.cluster.waitHealthy();

    // A last write whose revision the mirror must reach.
    const last = await persist(() => writer.put(`${prefix}sentinel`, 'end'));
    await until(() => cfg.revision >= last!.revision, {
      what: 'the mirror to apply the last write',
      timeoutMs: 30_000,
    });

    // The snapshot is exactly the prefix at the mirror's revision.
    const snap = cfg.snapshot();
    expect(snap.revision).toBe(cfg.revision);
    expect(new Map(snap)).toEqual(await rangeAt(writer, prefix, cfg.revision));

    // The change stream had no gap and no duplicate, and led to the same content.
    await until(() => model.revision === cfg.revision, { what: 'changes() to catch up' });
    expect(model.map).toEqual(new Map(snap));
    expect(model.applied).toBeGreaterThan(1000);

    // One snapshot per revision, in order; the mirror lost its watch and got it back.
    for (let i = 1; i < snapshots.length; i++)
      expect(snapshots[i]!.revision).toBeGreaterThan(snapshots[i - 1]!.revision);
    expect(snapshots.at(-1)).toBe(snap);
    expect(statuses).toContain('reconnecting');
    expect(cfg.status).toBe('live');
    expect(errors.length).toBeGreaterThan(0);

    sub.unsubscribe();
    await cfg.close();
    await consumed;
  }, 120_000);
});
