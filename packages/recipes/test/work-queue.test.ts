import { setWatchStreamIdleMs, watchStats } from '@etcdkit/core/internal';
import { expectedToSettle, isPending, spawnTs, uniquePrefix, until, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import {
  AbortError,
  ClaimLostError,
  DeadlineExceededError,
  InvalidArgumentError,
  InvalidValueError,
  SessionExpiredError,
  WorkQueue,
} from '../src/index.js';

const t = useEtcd();

describe('WorkQueue', () => {
  it('4 consumers process 200 items from 2 producers: each once, oldest first per producer', async () => {
    const prefix = uniquePrefix('wq');
    const total = 200;
    const done = new AbortController();
    const got: string[][] = [[], [], [], []];
    let count = 0;
    const consumers = got.map(async (mine) => {
      const wq = new WorkQueue(await t.session(), prefix);
      for (;;) {
        let item: Awaited<ReturnType<WorkQueue['claim']>>;
        try {
          item = await wq.claim({ signal: done.signal });
        } catch (err) {
          if (err instanceof AbortError && done.signal.aborted) return;
          throw err;
        }
        mine.push(item.value.toString());
        await item.ack();
        if (++count === total) done.abort();
      }
    });
    const producers = [0, 1].map(async (p) => {
      const wq = new WorkQueue(await t.session(), prefix);
      for (let n = 0; n < total / 2; n++) await wq.enqueue(`${p}:${n}`);
    });
    await Promise.all([...producers, ...consumers]);
    const all = got.flat();
    expect(all).toHaveLength(total);
    expect(new Set(all).size).toBe(total);
    for (const mine of got) {
      const last = [-1, -1];
      for (const v of mine) {
        const [p, n] = v.split(':').map(Number) as [number, number];
        expect(n).toBeGreaterThan(last[p]!);
        last[p] = n;
      }
    }
    const wq = new WorkQueue(await t.session(), prefix);
    expect(await wq.size()).toBe(0);
    expect(await wq.claims()).toEqual([]);
  });

  it('a claimed item stays, is visible as claimed, and is skipped by other consumers; release() gives it back', async () => {
    const prefix = uniquePrefix('wqv');
    const a = new WorkQueue(await t.session(), prefix);
    const b = new WorkQueue(await t.session(), prefix);
    const first = await a.enqueue('one');
    await a.enqueue('two');
    const claimed = await a.claim();
    expect(claimed.key).toBe(first);
    expect(claimed.value.toString()).toBe('one');
    expect(await b.size()).toBe(2);
    expect(await b.claims()).toEqual([{ key: first, lease: a.session.lease }]);
    expect((await b.peek())?.value.toString()).toBe('two');
    const second = await b.claim();
    expect(second.value.toString()).toBe('two');
    expect(await b.peek()).toBeUndefined();
    expect(await second.release()).toBe(true);
    expect(await second.release()).toBe(false);
    const again = await a.claim();
    expect(again.value.toString()).toBe('two');
    await again.ack();
    await claimed.ack();
    expect(await a.size()).toBe(0);
    expect(await a.claims()).toEqual([]);
  });

  it('a session revoked while holding a claim loses it: a waiting consumer gets the item, the late ack fails', async () => {
    const prefix = uniquePrefix('wqr');
    const s1 = await t.session();
    const a = new WorkQueue(s1, prefix);
    const b = new WorkQueue(await t.session(), prefix);
    await a.enqueue('job');
    const held = await a.claim();
    const waiting = b.claim();
    expect(await isPending(waiting)).toBe(true);
    await s1.close(); // revokes the lease, as its expiry would
    const item = await waiting;
    expect(item.key).toBe(held.key);
    expect(item.value.toString()).toBe('job');
    await expect(held.ack()).rejects.toBeInstanceOf(ClaimLostError);
    await item.ack();
    expect(await b.size()).toBe(0);
  });

  it('a consumer SIGKILLed while holding a claim loses it once its lease expires; another processes the item', async () => {
    const prefix = uniquePrefix('wqk');
    const wq = new WorkQueue(await t.session(), prefix);
    const key = await wq.enqueue('crash-me');
    const child = spawnTs(new URL('./fixtures/work-consumer.ts', import.meta.url), [
      t.endpoints.join(','),
      prefix,
      '2',
    ]);
    try {
      const line = await child.waitForLine(/^claimed /);
      const [, claimedKey, leaseHex] = line.split(' ');
      expect(claimedKey).toBe(key);
      expect(await wq.claims()).toEqual([{ key, lease: BigInt(`0x${leaseHex}`) }]);
      const waiting = wq.claim();
      expect(await isPending(waiting)).toBe(true);
      await child.kill('SIGKILL');
      const item = await waiting;
      expect(item.key).toBe(key);
      expect(item.value.toString()).toBe('crash-me');
      await item.ack();
      expect(await wq.size()).toBe(0);
    } finally {
      await child.kill('SIGKILL');
    }
  });

  it('abort, timeout or session end while waiting: the typed error, no claim, no watch left', async () => {
    const session = await t.session();
    setWatchStreamIdleMs(session.client, 0);
    const wq = new WorkQueue(session, uniquePrefix('wqa'));
    const ac = new AbortController();
    const waiting = wq.claim({ signal: ac.signal });
    await until(() => watchStats(session.client).streamOpen, { what: 'the claim watch' });
    ac.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    await until(() => !watchStats(session.client).streamOpen, { what: 'the watch to close' });
    await expect(wq.claim({ timeoutMs: 50 })).rejects.toBeInstanceOf(DeadlineExceededError);
    const ending = expectedToSettle(wq.claim());
    await until(() => watchStats(session.client).streamOpen, { what: 'the claim watch' });
    await session.close();
    await expect(ending).rejects.toBeInstanceOf(SessionExpiredError);
    await until(() => !watchStats(session.client).streamOpen, { what: 'the watch to close' });
    const etcd = t.client();
    expect((await etcd.range({ prefix: wq.prefix, countOnly: true })).count).toBe(0);
  });

  it('typed(): claims decode (JSON by default); an undecodable item is InvalidValueError and its claim released', async () => {
    const session = await t.session();
    const wq = new WorkQueue(session, uniquePrefix('wqt'));
    const jobs = wq.typed<{ n: number }>();
    await jobs.enqueue({ n: 1 });
    const item = await jobs.claim();
    expect(item.value).toEqual({ n: 1 });
    expect(item.raw).toEqual(Buffer.from('{"n":1}'));
    await item.ack();
    expect(await jobs.size()).toBe(0);

    await wq.enqueue(Buffer.from([0xff, 0xfe]));
    const err = await jobs.claim().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidValueError);
    expect(err).toMatchObject({ code: 'INVALID_VALUE', value: Buffer.from([0xff, 0xfe]) });
    // Released: nobody holds it, and a raw consumer can take it (and drop it with ack()).
    expect(await wq.claims()).toEqual([]);
    const rawItem = await wq.claim();
    expect(rawItem.value).toEqual(Buffer.from([0xff, 0xfe]));
    await rawItem.ack();
    expect(await wq.size()).toBe(0);
  });

  it('checks its arguments', async () => {
    const session = await t.session();
    expect(() => new WorkQueue(t.etcd as never, 'x')).toThrow(InvalidArgumentError);
    expect(() => new WorkQueue(session, '')).toThrow(InvalidArgumentError);
    const wq = new WorkQueue(session, 'jobs');
    expect(wq.prefix).toBe('jobs/');
    await expect(wq.enqueue(42 as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(wq.claim({ signal: 'x' } as never)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
