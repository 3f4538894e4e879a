import { setTimeout as sleep } from 'node:timers/promises';
import { startEtcd, startTcpProxy } from '@etcdkit/testkit';
import { uniquePrefix, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { AbortError, ClientClosedError, CompactedError, Etcd, op, type WatchEvent } from '../src/index.js';
import { watchStreamsOpened } from '../src/internal.js';

const t = useEtcd();

async function take(iter: AsyncIterable<WatchEvent>, n: number): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  if (n === 0) return out;
  for await (const ev of iter) {
    out.push(ev);
    if (out.length === n) break;
  }
  return out;
}

describe('watch', () => {
  it('delivers puts and deletes of a key or prefix in order, with prevKv', async () => {
    const etcd = t.client();
    const p = uniquePrefix('w');
    const w = etcd.watch({ prefix: p, prevKv: true });
    await w.ready;
    await etcd.put(`${p}a`, '1');
    await etcd.put(`${p}a`, '2');
    await etcd.delete(`${p}a`);
    await etcd.put(`${p}-not-in-prefix`.replace(p, 'elsewhere/'), 'x');
    const evs = await take(w, 3);
    expect(evs.map((e) => e.type)).toEqual(['put', 'put', 'delete']);
    expect(evs.map((e) => e.kv.value.toString())).toEqual(['1', '2', '']);
    expect(evs[1]?.prevKv?.value.toString()).toBe('1');
    expect(evs[2]?.prevKv?.value.toString()).toBe('2');
    expect(evs[0]!.kv.modRevision < evs[1]!.kv.modRevision).toBe(true);
    expect(w.ended).toBe(true); // leaving the loop closes the watch
  });

  it('replays history from startRevision and filters puts or deletes', async () => {
    const etcd = t.client();
    const p = uniquePrefix('hist');
    const first = await etcd.put(`${p}k`, 'a');
    await etcd.put(`${p}k`, 'b');
    await etcd.delete(`${p}k`);
    const all = await take(etcd.watch({ key: `${p}k`, startRevision: first.revision }), 3);
    expect(all.map((e) => `${e.type}:${e.kv.value}`)).toEqual(['put:a', 'put:b', 'delete:']);
    const deletesOnly = await take(
      etcd.watch({ key: `${p}k`, startRevision: first.revision, filters: { noPut: true } }),
      1,
    );
    expect(deletesOnly[0]?.type).toBe('delete');
    const putsOnly = await take(
      etcd.watch({ key: `${p}k`, startRevision: first.revision, filters: { noDelete: true } }),
      2,
    );
    expect(putsOnly.map((e) => e.type)).toEqual(['put', 'put']);
  });

  it('delivers a multi-key transaction as one batch', async () => {
    const etcd = t.client();
    const p = uniquePrefix('batch');
    const w = etcd.watch({ prefix: p });
    await w.ready;
    const r = await etcd
      .txn()
      .then(op.put(`${p}a`, '1'), op.put(`${p}b`, '2'), op.put(`${p}c`, '3'))
      .commit();
    await etcd.put(`${p}d`, '4');
    const batches = [];
    for await (const b of w.batches()) {
      batches.push(b);
      if (batches.length === 2) break;
    }
    expect(batches[0]?.revision).toBe(r.revision);
    expect(batches[0]?.events.map((e) => e.kv.key.toString())).toEqual([`${p}a`, `${p}b`, `${p}c`]);
    expect(batches[1]?.events).toHaveLength(1);
  });

  it('strips namespace prefixes from events', async () => {
    const etcd = t.client();
    const p = uniquePrefix('nsw');
    const ns = etcd.namespace(p);
    const w = ns.watch({ prefix: '' });
    await w.ready;
    await etcd.put(`${p}inside`, 'x');
    const [ev] = await take(w, 1);
    expect(ev?.kv.key.toString()).toBe('inside');
  });

  it('ends with CompactedError carrying the compact revision when the start revision is gone', async () => {
    const etcd = t.client();
    const p = uniquePrefix('compacted');
    const a = await etcd.put(`${p}k`, '1');
    const b = await etcd.put(`${p}k`, '2');
    await etcd.compact(b.revision);
    const w = etcd.watch({ key: `${p}k`, startRevision: a.revision });
    const err = await take(w, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompactedError);
    expect((err as CompactedError).compactRevision).toBe(b.revision);
  });

  it('ends with AbortError when its signal aborts, and ClientClosedError when the client closes', async () => {
    const etcd = new Etcd({ endpoints: t.server.endpoints });
    const ac = new AbortController();
    const w = etcd.watch({ key: uniquePrefix('abort'), signal: ac.signal });
    await w.ready;
    setTimeout(() => ac.abort(), 20);
    await expect(take(w, 1)).rejects.toBeInstanceOf(AbortError);
    const w2 = etcd.watch({ key: uniquePrefix('closed') });
    await w2.ready;
    const pending = take(w2, 1);
    await etcd.close();
    await expect(pending).rejects.toBeInstanceOf(ClientClosedError);
  });

  it('puts 10 000 watchers on one stream', async () => {
    const etcd = t.client();
    const p = uniquePrefix('many');
    const watchers = Array.from({ length: 10_000 }, (_, i) => etcd.watch({ key: `${p}${i}` }));
    await Promise.all(watchers.map((w) => w.ready));
    expect(watchStreamsOpened(etcd)).toBe(1);
    await etcd.put(`${p}9999`, 'last');
    await etcd.put(`${p}0`, 'first');
    const [a] = await take(watchers[9999]!, 1);
    const [b] = await take(watchers[0]!, 1);
    expect(a?.kv.value.toString()).toBe('last');
    expect(b?.kv.value.toString()).toBe('first');
    for (const w of watchers) w.close();
    expect(watchStreamsOpened(etcd)).toBe(1);
  });

  it('bounds its buffer for a slow consumer without losing or repeating events', async () => {
    const etcd = t.client({ watchHighWaterMark: 50 });
    const writer = t.client();
    const p = uniquePrefix('slow');
    const w = etcd.watch({ prefix: p });
    let created = 0;
    w.on('created', () => created++);
    await w.ready;
    const total = 600;
    for (let i = 0; i < total; i += 50)
      await writer
        .txn()
        .then(...Array.from({ length: 50 }, (_, j) => op.put(`${p}${i + j}`, String(i + j))))
        .commit();
    for (let i = 0; i < 100; i++) await writer.put(`${p}tail`, String(i));
    const seen: WatchEvent[] = [];
    for await (const ev of w) {
      seen.push(ev);
      if (seen.length % 25 === 0) await sleep(5);
      if (seen.length === total + 100) break;
    }
    expect(seen.slice(0, total).map((e) => e.kv.value.toString())).toEqual(
      Array.from({ length: total }, (_, i) => String(i)),
    );
    expect(seen.slice(total).map((e) => e.kv.value.toString())).toEqual(
      Array.from({ length: 100 }, (_, i) => String(i)),
    );
    // The watch was paused on the server at least once, and re-created where it left off.
    expect(created).toBeGreaterThan(1);
  });

  it('resumes after etcd restarts, from the next revision, with no gap and no duplicate', async () => {
    await using server = await startEtcd({ useEnv: false });
    const etcd = new Etcd({ endpoints: server.endpoints, dialTimeoutMs: 5000 });
    const writer = new Etcd({ endpoints: server.endpoints, dialTimeoutMs: 5000 });
    try {
      const p = uniquePrefix('resume');
      const w = etcd.watch({ prefix: p });
      let disconnects = 0;
      w.on('disconnected', () => disconnects++);
      await w.ready;
      for (let i = 0; i < 50; i++) await writer.put(`${p}k`, String(i));
      await server.kill();
      await server.restart();
      for (let i = 50; i < 100; i++) await writer.put(`${p}k`, String(i));
      await server.kill();
      await server.restart();
      for (let i = 100; i < 150; i++) await writer.put(`${p}k`, String(i));
      const got = await take(w, 150);
      expect(got.map((e) => e.kv.value.toString())).toEqual(Array.from({ length: 150 }, (_, i) => String(i)));
      const revs = got.map((e) => e.kv.modRevision);
      for (let i = 1; i < revs.length; i++) expect(revs[i]! > revs[i - 1]!).toBe(true);
      expect(disconnects).toBeGreaterThanOrEqual(1);
    } finally {
      await etcd.close();
      await writer.close();
    }
  });

  it('ends with CompactedError when the resume revision was compacted during a disconnect', async () => {
    await using proxy = await startTcpProxy(t.server.endpoints[0]!);
    const etcd = new Etcd({ endpoints: [proxy.endpoint], dialTimeoutMs: 500 });
    const direct = t.client();
    try {
      const p = uniquePrefix('gap');
      const w = etcd.watch({ prefix: p });
      await w.ready;
      await direct.put(`${p}k`, 'seen');
      const [first] = await (async () => {
        for await (const b of w.batches()) return [b];
        return [];
      })().then((x) => x);
      expect(first?.events[0]?.kv.value.toString()).toBe('seen');
      // batches() returned early, which closes w; watch again from the next revision.
      const w2 = etcd.watch({ prefix: p, startRevision: first!.revision + 1n });
      await w2.ready;
      proxy.blackhole(true);
      proxy.cut();
      await direct.put(`${p}k`, 'missed-1');
      const last = await direct.put(`${p}k`, 'missed-2');
      await direct.compact(last.revision);
      proxy.blackhole(false);
      const err = await take(w2, 5).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CompactedError);
      expect((err as CompactedError).compactRevision).toBe(last.revision);
    } finally {
      await etcd.close();
    }
  });
});
