import { track, uniqueName, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { AbortError, Barrier, DeadlineExceededError } from '../src/index.js';

const t = useEtcd();

describe('Barrier', () => {
  it('wait() passes at once when the barrier is down, blocks while it is up, and goes on at release', async () => {
    const etcd = t.client();
    const b = new Barrier(etcd, uniqueName('gate'));
    await b.wait();
    expect(await b.hold()).toBe(true);
    expect(await b.hold()).toBe(false); // already up
    expect(await b.held()).toBe(true);
    const waiters = Array.from({ length: 3 }, () => track(new Barrier(t.client(), b.key).wait()));
    // every waiter's watch is in place once each did its read; the barrier is still up
    await etcd.put(`${b.key}-probe`, 'x');
    expect(waiters.some((w) => w.settled())).toBe(false);
    expect(await b.release()).toBe(true);
    await Promise.all(waiters.map((w) => w.promise));
    expect(await b.release()).toBe(false);
  });

  it('wait() stops on abort (AbortError) and on timeout (DeadlineExceededError)', async () => {
    const etcd = t.client();
    const b = new Barrier(etcd, uniqueName('stuck'));
    await b.hold();
    const ac = new AbortController();
    const waiting = b.wait({ signal: ac.signal });
    ac.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    await expect(b.wait({ timeoutMs: 50 })).rejects.toBeInstanceOf(DeadlineExceededError);
    await b.release();
  });
});
