import { setTimeout as sleep } from 'node:timers/promises';
import { uniquePrefix as uniq, until, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { Etcd } from '../src/index.js';
import { setWatchStreamIdleMs, watchStats, watchStreamsOpened } from '../src/internal.js';

const t = useEtcd();

/** Handles that keep the process alive, by kind. */
function aliveHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

describe('the shared Watch stream', () => {
  it('stays open after the last watch closes and serves the next one', async () => {
    const etcd = t.client();
    const p = uniq('reuse');
    for (let i = 0; i < 3; i++) {
      const w = etcd.watch({ key: `${p}k` });
      await w.ready;
      await etcd.put(`${p}k`, String(i));
      for await (const ev of w) {
        expect(ev.kv.value.toString()).toBe(String(i));
        break; // leaving the loop closes the watch
      }
      expect(w.ended).toBe(true);
      expect(watchStats(etcd).streamOpen).toBe(true);
    }
    expect(watchStreamsOpened(etcd)).toBe(1);
    // A namespace view shares the client's stream.
    const view = etcd.namespace(p);
    const v = view.watch({ key: 'k' });
    await v.ready;
    v.close();
    expect(watchStreamsOpened(view)).toBe(1);
  });

  it('closes an idle stream after its idle period, and opens a new one for the next watch', async () => {
    const etcd = t.client();
    setWatchStreamIdleMs(etcd, 50);
    const w = etcd.watch({ key: uniq('idle') });
    await w.ready;
    w.close();
    await until(() => !watchStats(etcd).streamOpen, { what: 'the idle stream to close' });
    const again = etcd.watch({ key: uniq('idle') });
    await again.ready;
    expect(watchStreamsOpened(etcd)).toBe(2);
    // A watch made while the stream is idle cancels the idle close.
    setWatchStreamIdleMs(etcd, 60_000);
    again.close();
    const third = etcd.watch({ key: uniq('idle') });
    await third.ready;
    expect(watchStreamsOpened(etcd)).toBe(2);
    third.close();
    expect(() => setWatchStreamIdleMs(etcd, -1)).toThrow(/watchStreamIdleMs/);
  });

  it('never keeps the process alive while idle, and is gone once the client closes', async () => {
    const etcd = new Etcd({ endpoints: t.server.endpoints });
    await etcd.get('warm'); // connected, no call in flight
    await sleep(100);
    const connected = aliveHandles();
    const w = etcd.watch({ key: uniq('alive') });
    await w.ready;
    // An open watch keeps the process alive, as any call in flight.
    expect(aliveHandles()).not.toEqual(connected);
    w.close();
    expect(watchStats(etcd).streamOpen).toBe(true);
    await until(() => JSON.stringify(aliveHandles()) === JSON.stringify(connected), {
      timeoutMs: 10_000,
      what: 'the idle stream to stop holding the process',
    });
    expect(watchStats(etcd).streamOpen).toBe(true);
    // The idle stream still serves the next watch, which holds the process again.
    const next = etcd.watch({ key: uniq('alive') });
    await next.ready;
    expect(watchStreamsOpened(etcd)).toBe(1);
    expect(aliveHandles()).not.toEqual(connected);
    next.close();
    await etcd.close();
    expect(watchStats(etcd).streamOpen).toBe(false);
  });
});
