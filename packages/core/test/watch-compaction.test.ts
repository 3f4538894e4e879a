import { startTcpProxy } from '@etcdkit/testkit';
import { describe, expect, it } from 'vitest';
import { CompactedError, Etcd, type WatchEvent } from '../src/index.js';
import { uniq, until, useEtcd } from './helpers.js';

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
    await until(() => got.events.length === 1, 10_000, 'the first event');

    // Cut the watcher off and keep it off while the key is deleted and the history compacted.
    let disconnected = false;
    w.on('disconnected', () => {
      disconnected = true;
    });
    proxy.refuse(true);
    proxy.cut();
    await until(() => disconnected, 10_000, 'the watch to notice the cut');
    const del = await writer.delete(`${p}k`);
    expect(del.revision).toBe(first.revision + 1n); // D: the revision the watch resumes from
    await writer.compact(del.revision);
    const later = await writer.put(`${p}b`, '2');
    proxy.refuse(false);

    // Unguarded, etcd 3.4 < 3.4.34 resumes the watch and sends `later` without the delete.
    await until(() => got.done || got.events.length > 1, 20_000, 'the watch to end or go on');
    expect(got.error).toBeInstanceOf(CompactedError);
    expect((got.error as CompactedError).compactRevision).toBe(del.revision);
    // Nothing after the gap was delivered before the error.
    expect(got.events.map((e) => e.kv.modRevision)).toEqual([first.revision]);
    expect(later.revision).toBeGreaterThan(del.revision);
  });
});
