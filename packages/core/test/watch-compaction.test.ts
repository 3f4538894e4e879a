import { startTcpProxy } from '@etcdkit/testkit';
import { uniquePrefix as uniq, until, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { CompactedError, Etcd, op, type WatchEvent } from '../src/index.js';
import { watchStats } from '../src/internal.js';
import { replaysCompactRevision } from '../src/watch.js';

// One etcd per file: compactions here must not disturb other files' history.
const t = useEtcd();

/** Collects events until the watch ends; `error` holds how it ended. */
function collect(iter: AsyncIterable<WatchEvent>) {
  const out = { events: [] as WatchEvent[], error: undefined as unknown, done: false };
  void (async () => {
    try {
      for await (const ev of iter) out.events.push(ev);
    } catch (err) {
      out.error = err;
    } finally {
      out.done = true;
    }
  })();
  return out;
}

describe('watch resumed at the compaction revision (etcd-io/etcd#18089)', () => {
  it('range at revision r fails with CompactedError exactly when the compact revision is > r', async () => {
    const etcd = t.client();
    const p = uniq('boundary');
    const a = await etcd.put(`${p}k`, '1');
    const b = await etcd.put(`${p}k`, '2');
    await etcd.compact(b.revision);
    // At the compact revision itself the range works; one before it is compacted.
    expect(
      (await etcd.range({ key: `${p}k`, revision: b.revision, keysOnly: true, limit: 1 })).kvs,
    ).toHaveLength(1);
    await expect(etcd.range({ key: `${p}k`, revision: a.revision, limit: 1 })).rejects.toBeInstanceOf(
      CompactedError,
    );
  });

  it('ends with CompactedError instead of silently skipping a delete at the resume revision', async () => {
    await using proxy = await startTcpProxy(t.server.endpoints[0]!);
    await using watching = new Etcd({ endpoints: [proxy.endpoint], dialTimeoutMs: 20_000 });
    const writer = t.client();
    const p = uniq('guard');
    await writer.put(`${p}k`, 'v');
    const w = watching.watch({ prefix: p });
    await w.ready;
    const got = collect(w);
    const first = await writer.put(`${p}a`, '1');
    await until(() => got.events.length === 1, { what: 'the first event' });

    // Cut the watcher off and keep it off while the key is deleted and the history compacted.
    let disconnected = false;
    w.on('disconnected', () => {
      disconnected = true;
    });
    proxy.refuse(true);
    proxy.cut();
    await until(() => disconnected, { what: 'the watch to notice the cut' });
    const del = await writer.delete(`${p}k`);
    expect(del.revision).toBe(first.revision + 1n); // D: the revision the watch resumes from
    await writer.compact(del.revision, { physical: true });
    const later = await writer.put(`${p}b`, '2');
    proxy.refuse(false);

    // Unguarded, etcd 3.4 < 3.4.34 resumes the watch and sends `later` without the delete.
    await until(() => got.done || got.events.length > 1, {
      timeoutMs: 20_000,
      what: 'the watch to end or go on',
    });
    expect(got.error).toBeInstanceOf(CompactedError);
    expect((got.error as CompactedError).compactRevision).toBe(del.revision);
    // Nothing after the gap was delivered before the error.
    expect(got.events.map((e) => e.kv.modRevision)).toEqual([first.revision]);
    expect(later.revision).toBeGreaterThan(del.revision);
  });
});

describe('compaction guard', () => {
  it('ends a watch from before the compact revision (etcd), and from it on an affected etcd (the guard)', async () => {
    const etcd = t.client();
    const p = uniq('wboundary');
    await etcd.put(`${p}k`, '1');
    const c = await etcd.put(`${p}k`, '2');
    await etcd.compact(c.revision);
    const after = etcd.watch({ prefix: p, startRevision: c.revision + 1n });
    await after.ready;
    after.close();
    const before = collect(etcd.watch({ prefix: p, startRevision: c.revision - 1n }));
    await until(() => before.done, { what: 'the watch from before to end' });
    expect(before.error).toBeInstanceOf(CompactedError);
    expect((before.error as CompactedError).compactRevision).toBe(c.revision);
    // etcd 3.4.23 cannot replay the deletes at the compact revision itself: no watch from there.
    const at = collect(etcd.watch({ prefix: p, startRevision: c.revision }));
    await until(() => at.done, { what: 'the watch from the compact revision to end' });
    expect(at.error).toBeInstanceOf(CompactedError);
    expect((at.error as CompactedError).compactRevision).toBe(c.revision);
    expect((at.error as Error).message).toMatch(/watch from the read's revision \+ 1/);
  });

  it('knows which etcd versions replay the compact revision', () => {
    for (const v of ['3.4.23', '3.4.33', '3.5.0', '3.5.15', '2.3.8', 'unknown'])
      expect(replaysCompactRevision(v)).toBe(false);
    for (const v of ['3.4.34', '3.4.40', '3.5.16', '3.5.21', '3.6.0', '3.7.2', '4.0.0'])
      expect(replaysCompactRevision(v)).toBe(true);
  });

  it('a watch from a startRevision equal to the compact revision does not miss the delete there', async () => {
    const etcd = t.client();
    const p = uniq('start');
    await etcd.put(`${p}k`, 'v');
    const del = await etcd.delete(`${p}k`);
    await etcd.compact(del.revision, { physical: true });
    await etcd.put(`${p}after`, 'x');
    const got = collect(etcd.watch({ prefix: p, startRevision: del.revision }));
    await until(() => got.done || got.events.length > 0, {
      timeoutMs: 10_000,
      what: 'the watch to end or deliver',
    });
    expect(got.events).toEqual([]);
    expect(got.error).toBeInstanceOf(CompactedError);
    expect((got.error as CompactedError).compactRevision).toBe(del.revision);
    expect(watchStats(etcd).guardRecreates).toBe(1);
  });

  it('a watch from the next revision, or from now, is served live without a second create', async () => {
    const etcd = t.client();
    const p = uniq('live');
    const head = await etcd.put(`${p}k`, '1');
    const nextWatch = etcd.watch({ prefix: p, startRevision: head.revision + 1n });
    const nowWatch = etcd.watch({ prefix: p });
    await Promise.all([nextWatch.ready, nowWatch.ready]);
    const next = collect(nextWatch);
    const now = collect(nowWatch);
    await etcd.put(`${p}k`, '2');
    await until(() => next.events.length === 1 && now.events.length === 1, {
      timeoutMs: 10_000,
      what: 'both events',
    });
    expect(watchStats(etcd).guardRecreates).toBe(0);
    expect(watchStats(etcd).guardedCreates).toBe(0);
    // A watch from the past starts behind etcd, as the client knows from the events it saw: it
    // is created from one revision earlier at once, and the repeated revision is dropped.
    const past = collect(etcd.watch({ prefix: p, startRevision: head.revision }));
    await until(() => past.events.length === 2, { what: 'the past events' });
    expect(past.events.map((e) => e.kv.value.toString())).toEqual(['1', '2']);
    expect(watchStats(etcd).guardRecreates).toBe(0);
    expect(watchStats(etcd).guardedCreates).toBe(1);
  });

  it('ends with CompactedError when a watch paused by back-pressure resumes at the compaction revision', async () => {
    const etcd = t.client({ watchHighWaterMark: 2 });
    const writer = t.client();
    const p = uniq('paused');
    await writer.put(`${p}k`, 'v');
    const w = etcd.watch({ prefix: p });
    await w.ready;
    // Three events in one revision: past the high-water mark, so the watch is paused on the server.
    const burst = await writer
      .txn()
      .then(op.put(`${p}a`, '1'), op.put(`${p}b`, '2'), op.put(`${p}c`, '3'))
      .commit();
    await until(() => watchStats(etcd).pauses === 1, { what: 'the watch to be paused' });
    const del = await writer.delete(`${p}k`);
    expect(del.revision).toBe(burst.revision + 1n);
    // Physical: the tombstone at D is gone from etcd's backend before the watch resumes.
    await writer.compact(del.revision, { physical: true });
    await writer.put(`${p}later`, 'x');
    // Consuming resumes the watch from the delete's revision.
    const got = collect(w);
    await until(() => got.done || got.events.length > 3, {
      timeoutMs: 10_000,
      what: 'the watch to end or go on',
    });
    expect(got.events.map((e) => e.kv.modRevision)).toEqual([burst.revision, burst.revision, burst.revision]);
    expect(got.error).toBeInstanceOf(CompactedError);
    expect((got.error as CompactedError).compactRevision).toBe(del.revision);
  });

  it('resumes 1 000 watchers after a cut with one round trip for the guard, caught up or behind', async () => {
    await using proxy = await startTcpProxy(t.server.endpoints[0]!);
    await using etcd = new Etcd({ endpoints: [proxy.endpoint], dialTimeoutMs: 20_000 });
    const writer = t.client();
    const p = uniq('many');
    const n = 1000;
    const watchers = Array.from({ length: n }, (_, i) => etcd.watch({ key: `${p}${i}` }));
    await Promise.all(watchers.map((w) => w.ready));
    const created = watchers.map(() => 0);
    for (const [i, w] of watchers.entries())
      w.on('created', () => {
        created[i]!++;
      });
    const resume = async (writeWhileCut: boolean): Promise<void> => {
      created.fill(0);
      proxy.refuse(true);
      proxy.cut();
      if (writeWhileCut) await writer.put(`${p}x`, 'behind');
      proxy.refuse(false);
      await until(() => created.every((c) => c === 1), {
        timeoutMs: 30_000,
        what: 'every watcher to be created again',
      });
    };
    await resume(false);
    expect(watchStats(etcd).guardedCreates).toBe(0);
    await resume(true);
    // One watch is created first; its answer shows that etcd moved on, so the others are created
    // from one revision earlier at once, and only that first one is created twice.
    expect(watchStats(etcd).guardRecreates).toBe(1);
    expect(watchStats(etcd).guardedCreates).toBe(n);
    // Still one stream at a time, and every watcher still delivers.
    await writer.put(`${p}7`, 'v');
    const ev = await (async () => {
      for await (const e of watchers[7]!) return e;
    })();
    expect(ev?.kv.value.toString()).toBe('v');
  });

  it('measures what the guard costs 1 000 watchers created behind etcd, against 1 000 created live', async () => {
    const etcd = t.client();
    const p = uniq('cost');
    const open = etcd.watch({ key: `${p}open` });
    await open.ready; // the stream is up: only creations are timed
    const head = await etcd.put(`${p}k`, 'v');
    const timeOf = async (startRevision: bigint): Promise<number> => {
      const t0 = performance.now();
      const ws = Array.from({ length: 1000 }, (_, i) => etcd.watch({ key: `${p}${i}`, startRevision }));
      await Promise.all(ws.map((w) => w.ready));
      const ms = performance.now() - t0;
      for (const w of ws) w.close();
      return ms;
    };
    const before = watchStats(etcd).guardedCreates;
    const live = await timeOf(head.revision + 1n);
    expect(watchStats(etcd).guardedCreates).toBe(before);
    const behind = await timeOf(head.revision);
    expect(watchStats(etcd).guardedCreates).toBe(before + 1000);
    // One watch at a time: the guard's extra create is one more round trip on the stream.
    const one = async (startRevision: bigint): Promise<number> => {
      const t0 = performance.now();
      for (let i = 0; i < 100; i++) {
        const w = etcd.watch({ key: `${p}one`, startRevision });
        await w.ready;
        w.close();
      }
      return (performance.now() - t0) / 100;
    };
    const oneLive = await one(head.revision + 1n);
    const oneBehind = await one(head.revision);
    console.log(
      `watch creation: 1000 at once live ${live.toFixed(0)} ms, behind ${behind.toFixed(0)} ms; ` +
        `one at a time live ${oneLive.toFixed(2)} ms, behind ${oneBehind.toFixed(2)} ms`,
    );
  });
});
